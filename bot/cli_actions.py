"""``review-bot case REF actions ...``: the review's action plan (issue 12 item 4; decision 0027),
and ``case REF not-publishing`` for the notice of non-publication (item 6). Each command calls one
use case of bot/usecases/actions.py; one transaction acts.

    case REF actions [--json]
    case REF actions add --agency SLUG --text T [--due DATE] [--larger] [--recommendation N]
    case REF actions N progress --note T | evidence --note T | submit | verify | return --reason T
    case REF actions N close --reason T [--outcome not-achieved|superseded] | due DATE
"""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from bot.cli_case import case
from bot.cli_common import Ctx, _day_cb, emit, handled, human_day

_STATUS = {"open": "open", "in_progress": "in progress", "evidence_submitted": "evidence submitted",
           "verified": "verified", "not_achieved": "closed: not achieved", "superseded": "closed: superseded"}


def _ref(click_ctx: click.Context) -> str:
    """The REF of ``case REF ...``, however deep the command."""
    at: click.Context | None = click_ctx
    while at is not None:
        if "ref" in at.meta:
            return str(at.meta["ref"])
        at = at.parent
    return ""


class _ActionsGroup(click.Group):
    """``actions 3 verify`` reads naturally: a number names the action (the hidden ``item``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0].isdigit():
            args = ["item", *args]
        return super().parse_args(ctx, args)


@case.group("actions", cls=_ActionsGroup, invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="The plan as JSON (with the actions' text).")
@click.pass_context
def actions(click_ctx: click.Context, as_json: bool) -> None:
    """The review's action plan: list it, add actions, record progress, evidence, verification."""
    if click_ctx.invoked_subcommand is not None:
        return
    from bot.usecases.actions import list_actions

    ctx: Ctx = click_ctx.obj
    with handled():
        result = list_actions(ctx.core, ctx.who(), _ref(click_ctx))
    if as_json:
        emit(result.data)
    else:
        _print_plan(result.data)


def _print_plan(data: dict[str, Any]) -> None:
    c = data["counts"]
    click.echo(f"{data['ref']}  action plan: {c['total']} action(s); {c['open']} open ({c['overdue']} "
               f"overdue, "
               f"{c['awaiting_verification']} awaiting verification), {c['verified']} verified, "
               f"{c['closed']} closed")
    if data["twelve_weeks_end"]:
        click.echo(f"  12 weeks after publication: {human_day(data['twelve_weeks_end'])}")
    for a in data["actions"]:
        rec = f"rec {a['recommendation']}" if a["recommendation"] else "no rec"
        due = human_day(a["due_on"]) if a["due_on"] else "12 weeks after publication"
        flags = (" [overdue]" if a["overdue"] else "") + (" [larger piece of work]" if a["larger"] else "")
        click.echo(f"  {a['number']:>3}  {rec:8} {a['agency']:20} {_STATUS[a['status']]:22} due {due}{flags}")
        click.echo(f"       {' '.join(a['text'].split())}")
        notes = len(a["notes"])
        if notes:
            click.echo(f"       {notes} note(s); latest {a['notes'][-1]['kind']} {a['notes'][-1]['at'][:10]}")


@actions.command("add")
@click.option("--agency", required=True, metavar="SLUG", help="The owner agency (a protocol slug).")
@click.option("--text", required=True, help="The action (SMART; kept in the record, never in chat).")
@click.option("--due", callback=_day_cb, metavar="DATE", help="Default: 12 weeks after publication.")
@click.option("--larger", is_flag=True, help="A larger piece of work: longer timescale, reported separately.")
@click.option("--recommendation", type=click.IntRange(1, 999), metavar="N",
              help="The recommendation it answers.")
@click.pass_context
def actions_add(click_ctx: click.Context, agency: str, text: str, due: date | None, larger: bool,
                recommendation: int | None) -> None:
    """Add an action to the plan."""
    from bot.usecases.actions import add_action

    ctx: Ctx = click_ctx.obj
    with handled():
        result = add_action(ctx.core, ctx.who(), _ref(click_ctx), agency=agency, text=text, due=due,
                            larger=larger, recommendation=recommendation)
    click.echo(result.message)


@actions.group("item", hidden=True)
@click.argument("number", type=click.IntRange(1))
@click.pass_context
def item(click_ctx: click.Context, number: int) -> None:
    """Act on action NUMBER."""
    click_ctx.meta["action"] = number


def _step(click_ctx: click.Context, step: str, **options: Any) -> None:
    from bot.usecases.actions import act_on

    ctx: Ctx = click_ctx.obj
    number = int(click_ctx.meta["action"])
    with handled():
        result = act_on(ctx.core, ctx.who(), _ref(click_ctx), number, step, **options)
    click.echo(result.message)


@item.command("progress")
@click.option("--note", required=True, help="What the agency reported (kept in the record only).")
@click.pass_context
def item_progress(click_ctx: click.Context, note: str) -> None:
    """The agency reported progress (the action is in progress)."""
    _step(click_ctx, "progress", note=note)


@item.command("evidence")
@click.option("--note", required=True, help="The evidence and how impact is measured (record only).")
@click.pass_context
def item_evidence(click_ctx: click.Context, note: str) -> None:
    """Evidence that the action is done, and how its impact is measured."""
    _step(click_ctx, "evidence", note=note)


@item.command("submit")
@click.pass_context
def item_submit(click_ctx: click.Context) -> None:
    """The agency says it is complete: its chasing stops; the QA group verifies it."""
    _step(click_ctx, "submit")


@item.command("verify")
@click.pass_context
def item_verify(click_ctx: click.Context) -> None:
    """The QA group verified the evidence (STK App 3 stage 4); --actor names the verifier."""
    _step(click_ctx, "verify")


@item.command("return")
@click.option("--reason", required=True, help="What the evidence lacks (kept in the record only).")
@click.pass_context
def item_return(click_ctx: click.Context, reason: str) -> None:
    """The QA group sends the evidence back: in progress again, chased to its date again."""
    _step(click_ctx, "return", reason=reason)


@item.command("close")
@click.option("--reason", required=True, help="Why (the annual report gives it; record only).")
@click.option("--outcome", type=click.Choice(["not-achieved", "superseded"]), default="not-achieved",
              show_default=True)
@click.pass_context
def item_close(click_ctx: click.Context, reason: str, outcome: str) -> None:
    """Close the action without it being achieved, or as superseded; its chasing stops."""
    _step(click_ctx, "close", reason=reason, outcome=outcome)


@item.command("due")
@click.argument("due", callback=_day_cb, metavar="DATE")
@click.pass_context
def item_due(click_ctx: click.Context, due: date) -> None:
    """Set the action's own due date (its clock moves)."""
    _step(click_ctx, "due", due=due)


@case.command("not-publishing")
@click.option("--reasons", required=True, help="Why the report is not published (for the National Panel).")
@click.option("--instead", help="What is published instead (improvement information, KIR l.320).")
@click.option("--decided", callback=_day_cb, metavar="DATE",
              help="When the partners decided (default today).")
@click.pass_context
def case_not_publishing(
    click_ctx: click.Context, reasons: str, instead: str | None, decided: date | None
) -> None:
    """Record the decision not to publish the report (then: draft non-publication-notice)."""
    from bot.usecases.actions import record_not_publishing

    ctx: Ctx = click_ctx.obj
    with handled():
        result = record_not_publishing(ctx.core, ctx.who(), _ref(click_ctx), decided_on=decided,
                                       reasons=reasons, instead=instead)
    click.echo(result.message)
