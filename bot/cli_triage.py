"""``review-bot triage ...``: mail that needs a person, and how to resolve it."""

from __future__ import annotations

import click

from bot.cli_common import Ctx, _local, emit, handled, pass_ctx


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def triage(click_ctx: click.Context, as_json: bool) -> None:
    """List mail that needs a person: unmatched, unverified or undeliverable."""
    if click_ctx.invoked_subcommand is not None:
        return
    from bot.views import triage_list

    ctx: Ctx = click_ctx.obj
    with ctx.core.db.session() as s:
        items = triage_list(s)
    if as_json:
        emit(items)
        return
    if not items:
        click.echo("the triage list is empty")
    for i in items:
        where = " ".join(x for x in (i["case"], i["agency"]) if x)
        click.echo(f"#{i['id']:<5} {_local(i['received_at'])}  from {i['sender_domain'] or '?'}"
                   f"  {where}  {i['reason']}")


@triage.command("assign")
@click.argument("item_id", type=int)
@click.option("--case", "ref", required=True)
@click.option("--agency", required=True)
@click.option("--kind", type=click.Choice(["info-gathering", "chronology"]))
@pass_ctx
def triage_assign(ctx: Ctx, item_id: int, ref: str, agency: str, kind: str | None) -> None:
    """Confirm a held message as an agency's return."""
    from bot.usecases.triage import act_on_triage

    with handled():
        result = act_on_triage(ctx.core, ctx.who(), item_id, "triage_assign",
                               {"ref": ref, "agency": agency, "kind": kind})
    click.echo(result.message)


@triage.command("dismiss")
@click.argument("item_id", type=int)
@click.option("--reason", required=True)
@pass_ctx
def triage_dismiss(ctx: Ctx, item_id: int, reason: str) -> None:
    """Take a message off the triage list."""
    from bot.usecases.triage import act_on_triage

    with handled():
        result = act_on_triage(ctx.core, ctx.who(), item_id, "triage_dismiss", {"reason": reason})
    click.echo(result.message)
