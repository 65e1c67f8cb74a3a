"""The SAR pathway's use cases and its rows of the case actions table (decision 0028).

Opening a SAR referral is business unit work (the Board Business Manager checks the referral
shows the criteria, STK l.117); each later step is a row every door renders (a card button, a
form, ``review-bot case REF <command>``), calling one transition of bot/sar.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot import complaints, review_clocks, sar
from bot.actors import Actor
from bot.core import Core
from bot.errors import Invalid
from bot.models import Case
from bot.stages import LABELS, Stage
from bot.usecases.action_table import CaseAction, pairs
from bot.usecases.common import Values, choice, moment, once, require_business_unit
from bot.usecases.result import FieldSpec, Result
from bot.views import case_view


def open_sar(core: Core, actor: Actor, *, received_at: datetime | None, referring_agency: str, outcome: str,
             key: str | None = None) -> Result:
    """S0: a SAR referral becomes a case; the screening meeting is due within 15 working days."""
    require_business_unit(core, actor, "open_sar")

    def run(session: Session) -> Result:
        case = sar.open_sar(session, core, received_at=received_at or core.clock.now(),
                            referring_agency=referring_agency, outcome=outcome, actor=actor.key,
                            source=actor.surface)
        assert case.id is not None
        view = case_view(session, core, case)
        screening = review_clocks.running(session, case, "sar_screening")
        due = f"{core.calendar.local_date(screening.due_at):%a %d %b %Y}" if screening else "(none)"
        return Result(message=f"{case.ref}: {LABELS[Stage(case.stage)]}; screening meeting due by {due}",
                      ref=case.ref, view=view, changed=(("case", case.id),),
                      data={"stage": case.stage, "case_id": case.id})

    return once(core, actor, key, run)


def _screening(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> str:
    sar.screening_held(s, core, case, basis=choice(v, "basis"), at=moment(v, "at"), actor=actor)
    return f"{case.ref}: screening meeting recorded; the recommendation is due to the Independent Chair"


def _recommendation(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> str:
    chosen = choice(v, "recommendation")
    if chosen is None:
        raise Invalid({"recommendation": "Choose the screening panel's recommendation."})
    sar.recommendation_sent(s, core, case, recommendation=chosen, at=moment(v, "at"), actor=actor)
    return f"{case.ref}: recommendation with the Independent Chair, who decides within the protocol's time"


def _decision(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> str:
    chosen = choice(v, "decision")
    if chosen is None:
        raise Invalid({"decision": "Choose the Independent Chair's decision."})
    sar.chair_decision(s, core, case, decision=chosen, at=moment(v, "at"), actor=actor)
    return f"{case.ref}: the Independent Chair decided: {sar.DECISION_LABELS[chosen]}"


def _respond(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> str:
    which = complaints.respond(s, core, case, actor=actor)
    said = "the Independent Chair's response" if which == "chair-response" else "the written response"
    return f"{case.ref}: {said} recorded"


def _escalate(s: Session, core: Core, case: Case, actor: str, v: Values, ctx: dict[str, str]) -> str:
    complaints.escalate(s, core, case, actor=actor)
    return f"{case.ref}: escalated to the Independent Chair"


#: A complaint's buttons (the CLI's `complaint respond|escalate` take an earlier day too).
COMPLAINT_ACTIONS: tuple[CaseAction, ...] = (
    CaseAction(
        "complaint_respond", "Response sent",
        stages=frozenset({Stage.COMPLAINT_RECEIVED, Stage.COMPLAINT_ESCALATED}), style="primary",
        confirm_title="Record the response?", confirm_button="Record",
        confirm="Record that the written response on {ref} went today, with the Ombudsman's details "
                "(draft: review-bot complaint {ref} draft-response).",
        run=_respond,
    ),
    CaseAction(
        "complaint_escalate", "Complainant escalated", stages=frozenset({Stage.COMPLAINT_RESPONDED}),
        confirm_title="Record the escalation?", confirm_button="Record",
        confirm="Record that the complainant on {ref} contacted the Board Business Manager today: the "
                "Independent Chair responds within 28 days (STK l.425).",
        run=_escalate,
    ),
)


SAR_ACTIONS: tuple[CaseAction, ...] = (
    CaseAction(
        "screening_held", "Screening meeting held", stages=frozenset({Stage.SAR_REFERRED}), style="primary",
        fields=lambda core, s, case: (
            FieldSpec("basis", "Criteria (Care Act 2014 s.44)", "choice", options=pairs(sar.BASES)),),
        title="Screening {ref}", submit="Record",
        intro="The SAR screening meeting for {ref} was held (due within 15 working days of the referral, "
              "STK l.256). Its recommendation goes to the Independent Chair in writing within 5 working "
              "days.",
        run=_screening,
    ),
    CaseAction(
        "recommendation_sent", "Recommendation sent", stages=frozenset({Stage.SAR_SCREENED}), style="primary",
        fields=lambda core, s, case: (FieldSpec("recommendation", "Recommendation", "choice", required=True,
                                                options=pairs(sar.DECISION_LABELS)),),
        title="Recommendation {ref}", submit="Record",
        intro="The screening panel's conclusions and recommendation on {ref} went to the Independent Chair "
              "in writing (STK l.258).",
        run=_recommendation,
    ),
    CaseAction(
        "chair_decision", "Record the Chair's decision", stages=frozenset({Stage.SAR_RECOMMENDED}),
        style="primary",
        fields=lambda core, s, case: (FieldSpec("decision", "The Independent Chair's decision", "choice",
                                                required=True, options=pairs(sar.DECISION_LABELS)),),
        title="Decision {ref}", submit="Record",
        intro="The Independent Chair's decision on {ref} (STK l.77, l.260). A SAR is to be completed within "
              "6 months (STK l.141).",
        run=_decision,
    ),
    CaseAction(
        "sar_completed", "Review completed", stages=frozenset({Stage.SAR_REVIEW}), style="primary",
        confirm_title="Record the SAR completed?", confirm_button="Completed",
        confirm="Record that the report and learning of {ref} are available now (the 6 month clock is met).",
        run=lambda s, core, case, actor, v, ctx: sar.completed(s, core, case, at=moment(v, "at"),
                                                               actor=actor),
    ),
    CaseAction(
        "sar_published", "Published", stages=frozenset({Stage.SAR_COMPLETED}),
        confirm_title="Record publication?", confirm_button="Published",
        confirm="Record that the report of {ref} is published now (at the board's discretion, STK l.398).",
        run=lambda s, core, case, actor, v, ctx: sar.published(s, core, case, at=moment(v, "at"),
                                                               actor=actor),
    ),
)
