"""``review-bot retention``, ``review-bot access-log`` and ``case REF hold`` / ``release-hold``
(issue 13 items 2-4; decision 0030). The output of ``access-log`` names people and cases: for
subject access and FOI work on the server, never for chat."""

from __future__ import annotations

from datetime import date

import click

from bot.cli_case import case
from bot.cli_common import Ctx, _day_cb, _local, emit, handled, pass_ctx


@click.command("retention")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def retention_cmd(ctx: Ctx, as_json: bool) -> None:
    """What the purge will empty when: per record class, its period, how many records wait, how
    many are due now and when the next one goes (held cases are left out)."""
    from bot.retention import schedule

    with handled():
        rows = schedule(ctx.core)
    if as_json:
        emit([r.as_json() for r in rows])
        return
    for r in rows:
        if not r.held_by_bot:
            click.echo(f"{r.key:26} {r.period:>10} after {r.anchor:16} not held by the bot")
            continue
        nxt = _local(r.next_due.isoformat()) if r.next_due else "-"
        click.echo(f"{r.key:26} {r.period:>10} after {r.anchor:16} waiting {r.waiting:5}  "
                   f"due now {r.due_now:5}  next {nxt}")


@click.command("access-log")
@click.option("--case", "ref", metavar="REF", help="Only this case.")
@click.option("--from", "since", callback=_day_cb, metavar="DATE", help="From this day (London time).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def access_log_cmd(ctx: Ctx, ref: str | None, since: date | None, as_json: bool) -> None:
    """Who viewed or exported which case's data, when and through which door (oldest first)."""
    from bot import access_log
    from bot.cases import get_case

    with handled(), ctx.core.db.session() as s:
        case_id = get_case(s, ref).id if ref else None
        start = ctx.core.calendar.start_of_day(since) if since else None
        rows = access_log.entries(s, case_id=case_id, since=start)
    if as_json:
        emit(rows)
        return
    for r in rows:
        detail = f" ({r['detail']})" if r["detail"] else ""
        click.echo(f"{_local(r['at'])}  {r['case']:14} {r['surface']:6} {r['actor']:32} {r['what']}{detail}")


@case.command("hold")
@click.option("--reason", required=True, type=click.Choice(["criminal", "coroner", "embargo", "complaint",
                                                             "sar-request"]))
@click.option("--note", help="Kept on the hold for the business manager; never posted or logged.")
@click.pass_context
def case_hold(click_ctx: click.Context, reason: str, note: str | None) -> None:
    """Hold the case: nothing of it is purged until the hold is released (business manager, Chair)."""
    from bot.legal_hold import hold

    ctx: Ctx = click_ctx.obj
    ref = click_ctx.parent.meta["ref"] if click_ctx.parent else ""
    with handled():
        click.echo(hold(ctx.core, ctx.who(), ref, reason, note).message)


@case.command("release-hold")
@click.option("--reason", help="Release only the hold with this reason.")
@click.pass_context
def case_release_hold(click_ctx: click.Context, reason: str | None) -> None:
    """Release the case's legal holds (an embargo recorded on the review still holds it)."""
    from bot.legal_hold import release

    ctx: Ctx = click_ctx.obj
    ref = click_ctx.parent.meta["ref"] if click_ctx.parent else ""
    with handled():
        click.echo(release(ctx.core, ctx.who(), ref, reason).message)


@case.command("holds")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def case_holds(click_ctx: click.Context, as_json: bool) -> None:
    """The case's legal holds, standing and released, with who set them and why."""
    from bot.legal_hold import view_holds

    ctx: Ctx = click_ctx.obj
    ref = click_ctx.parent.meta["ref"] if click_ctx.parent else ""
    with handled():
        answer = view_holds(ctx.core, ctx.who(), ref)  # in the access log (the notes are shown)
    assert answer.view is not None
    if as_json:
        emit(answer.view)
        return
    click.echo(answer.message)
    for h in answer.view["holds"]:
        end = f", released {_local(h['released_at'])} by {h['released_by']}" if h["released_at"] else ""
        note = f"  note: {h['note']}" if h["note"] else ""
        click.echo(f"  {h['reason']:12} set {_local(h['set_at'])} by {h['set_by']}{end}{note}")
