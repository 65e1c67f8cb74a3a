"""``review-bot sar open`` and the SAR's ``review-bot case REF <command>`` steps (decision 0028).

Each step names a row of the case actions table (bot/usecases/sar.py); one transaction acts.
"""

from __future__ import annotations

from datetime import datetime

import click

from bot.cli_case import Action, case, case_action
from bot.cli_common import Ctx, _when_cb, emit, handled, pass_ctx
from bot.sar import BASES, DECISIONS, OUTCOMES

_AT = {"callback": _when_cb, "metavar": "WHEN", "help": "When it happened (default now)."}


@click.group()
def sar() -> None:
    """Safeguarding adults reviews (Care Act 2014 s.44): open a referral; then 'case REF ...'."""


@sar.command("open")
@click.option("--agency", "referring_agency", required=True, metavar="SLUG", help="The referring agency.")
@click.option("--outcome", required=True, type=click.Choice(list(OUTCOMES)),
              help="death: the adult died (s.44(2)); serious-harm: alive, serious abuse or neglect "
                   "(s.44(3)).")
@click.option("--received", callback=_when_cb, metavar="WHEN",
              help="When the referral was received (default now): the screening clock's start.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def sar_open(ctx: Ctx, referring_agency: str, outcome: str, received: datetime | None, as_json: bool) -> None:
    """Record a SAR referral (no names: the details stay in secure email, STK l.111)."""
    from bot.usecases.sar import open_sar

    with handled():
        result = open_sar(ctx.core, ctx.who(), received_at=received, referring_agency=referring_agency,
                          outcome=outcome)
    if as_json:
        emit(result.view)
    else:
        click.echo(result.message)


@case.command("screening-held")
@click.option("--basis", type=click.Choice(list(BASES)), help="The s.44 criteria the panel found.")
@click.option("--at", **_AT)  # type: ignore[arg-type]
@case_action
def case_screening_held(basis: str | None, at: datetime | None) -> Action:
    """The SAR screening meeting was held (D-S1 met; the recommendation is due in 5 working days)."""
    return "screening_held", {"basis": basis, "at": at}


@case.command("recommendation-sent")
@click.argument("recommendation", type=click.Choice(list(DECISIONS)))
@click.option("--at", **_AT)  # type: ignore[arg-type]
@case_action
def case_recommendation_sent(recommendation: str, at: datetime | None) -> Action:
    """The panel's recommendation went to the Independent Chair in writing (D-S2 met; D-S3 starts)."""
    return "recommendation_sent", {"recommendation": recommendation, "at": at}


@case.command("chair-decision")
@click.argument("decision", type=click.Choice(list(DECISIONS)))
@click.option("--at", **_AT)  # type: ignore[arg-type]
@case_action
def case_chair_decision(decision: str, at: datetime | None) -> Action:
    """The Independent Chair decided (D-S3 met): sar starts the 6 month review clock (D-S4)."""
    return "chair_decision", {"decision": decision, "at": at}


@case.command("sar-completed")
@click.option("--at", **_AT)  # type: ignore[arg-type]
@case_action
def case_sar_completed(at: datetime | None) -> Action:
    """The SAR's report and learning are available (D-S4 met)."""
    return "sar_completed", {"at": at}


@case.command("sar-published")
@click.option("--at", **_AT)  # type: ignore[arg-type]
@case_action
def case_sar_published(at: datetime | None) -> Action:
    """The board published the SAR report (at its discretion, STK l.398)."""
    return "sar_published", {"at": at}
