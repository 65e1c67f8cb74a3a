"""``review-bot case REF <command>`` for the local review (issue 12; decision 0022): commissioning,
the milestones that meet and start its clocks, the notices before publication, what follows it,
and the documents drafted for a person to send. Each handler names a row of the case actions
table (bot/usecases/review_actions.py); one transaction acts."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from bot.cli_case import Action, case, case_action
from bot.cli_common import Ctx, _day_cb, _when_cb, handled
from bot.protocol import METHODOLOGIES
from bot.review_drafts import KINDS

_AT = {"callback": _when_cb, "metavar": "WHEN", "help": "When it happened (default now)."}


@case.command("commission")
@click.option("--reviewer-name", required=True, help="The lead reviewer (kept in the case record).")
@click.option("--reviewer-email", required=True, help="Where their reminders and chasers go.")
@click.option("--methodology", type=click.Choice(METHODOLOGIES), help="Default: the protocol's [review].")
@click.option("--tor-agreed", callback=_day_cb, metavar="DATE", help="Terms of reference agreed on.")
@click.option("--target", callback=_day_cb, metavar="DATE", help="A target date (no fixed timers).")
@case_action
def case_commission(reviewer_name: str, reviewer_email: str, methodology: str | None,
                    tor_agreed: date | None, target: date | None) -> Action:
    """Record the terms of reference and the reviewer of the local review (L1)."""
    return "commission", {"reviewer_name": reviewer_name, "reviewer_email": reviewer_email,
                          "methodology": methodology, "tor_agreed_on": tor_agreed, "target": target}


def _milestone(command: str, action: str, doc: str) -> None:
    @case.command(command)
    @click.option("--at", **_AT)  # type: ignore[arg-type]
    @case_action
    def handler(at: datetime | None) -> Action:
        return action, {"at": at}

    handler.__doc__ = doc
    case.commands[command].help = doc


for _command, _action, _doc in (
    ("learning-event-held", "learning_event", "A learning event was held (D-07 met, D-08 starts)."),
    ("draft-received", "draft_received", "The reviewer's first draft is in (D-08 met, D-09a starts)."),
    ("workstream-met", "workstream_met", "The workstream met on the draft (D-09a met, D-09b starts)."),
    ("minutes-sent", "minutes_sent", "Minutes went to the reviewer (D-09b met, D-09c starts)."),
    ("to-business-group", "to_business_group", "The review went to the business group (D-09d starts)."),
    ("business-group-approved", "business_group_approved", "The business group approved (D-09d met)."),
    ("endorsed", "endorsed", "The partnership endorsed the review: the final report is approved (L3)."),
    ("notice-sent", "notice_sent", "The report went to the Panel, SoS and Ofsted (D-11)."),
    ("practitioners-told", "practitioners_told", "Practitioners were told the date; a person sent the family "
     "letter (D-12)."),
    ("website-reviewed", "website_reviewed", "Whether the report stays online was reviewed (D-13)."),
    ("actions-achieved", "actions_achieved", "The review's actions are achieved (D-14)."),
    ("recall-held", "recall_held", "The recall event was held (D-15)."),
):
    _milestone(_command, _action, _doc)


@case.command("composite")
@case_action
def case_composite() -> Action:
    """The composite chronology is complete: learning event planning (L2b)."""
    return "composite", {}


@case.command("embedding")
@case_action
def case_embedding() -> Action:
    """The review is published and its learning is being embedded (E1)."""
    return "embedding", {}


@case.command("imr-due")
@click.argument("agency")
@click.argument("due", callback=_day_cb, metavar="DATE")
@case_action
def case_imr_due(agency: str, due: date) -> Action:
    """Set (or move) an agency's IMR due date (IMR model, STK l.296)."""
    return "imr_due", {"agency": agency, "due": due}


@case.command("imr-received")
@click.argument("agency")
@click.option("--at", **_AT)  # type: ignore[arg-type]
@case_action
def case_imr_received(agency: str, at: datetime | None) -> Action:
    """An agency's IMR arrived; its chasers stop."""
    return "imr_received", {"agency": agency, "at": at}


@case.command("target")
@click.argument("target", callback=_day_cb, metavar="DATE")
@case_action
def case_target(target: date) -> Action:
    """Set the local review's target date (a methodology without fixed timers)."""
    return "target", {"target": target}


@case.command("draft")
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write it to FILE.")
@click.pass_context
def case_draft(click_ctx: click.Context, kind: str, out: Path | None) -> None:
    """Draft a document for a person to complete and send (the bot sends none of them)."""
    from bot.usecases.drafts import draft_document

    ctx: Ctx = click_ctx.obj
    ref = click_ctx.parent.meta["ref"] if click_ctx.parent else ""
    with handled():
        result = draft_document(ctx.core, ctx.who(), ref, kind)
    if out is None:
        click.echo(result.data["text"], nl=False)
        return
    out.write_text(result.data["text"], encoding="utf-8")
    click.echo(f"{result.message}: written to {out}")
