"""A safeguarding adults review (Care Act 2014 s.44; process.md 2.5; decision 0028).

A SAR referral is a case of kind "sar" with its own stages: referred, screening meeting held,
recommendation with the Independent Chair, the Chair's decision (a SAR, no SAR or other
learning), the review, completed, published. Each step meets one clock and starts the next, as a
``deadline`` row with an owner who is reminded and chased through the outbox (bot.owner_clocks):
Stockport's timescales by default, from the protocol's ``[sar]`` table (STK l.254-266).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot import audit, deadlines, review_clocks
from bot.cases import move_stage, require_stage
from bot.core import Core
from bot.errors import Invalid, Refused
from bot.models import Case
from bot.models_sar import SarReview
from bot.protocol import UnknownAgency
from bot.refs import next_ref
from bot.sar_protocol import frozen_terms
from bot.stages import Stage

KIND = "sar"
#: The screening panel's recommendation and the Independent Chair's decision (STK l.77, l.174),
#: and where the decision leads.
DECISIONS: dict[str, Stage] = {
    "sar": Stage.SAR_REVIEW,
    "no-sar": Stage.CLOSED_NFA,
    "other-learning": Stage.ALTERNATIVE_LEARNING,
}
DECISION_LABELS = {"sar": "a safeguarding adults review", "no-sar": "no SAR",
                   "other-learning": "other learning (not a SAR)"}
#: The s.44 criteria (Care Act 2014): a review the board must arrange (s.44(1)-(3)), or may (s.44(4)).
BASES = {"mandatory": "mandatory (s.44(1)-(3))", "discretionary": "discretionary (s.44(4))"}
#: Condition 1 (the adult died) or 2 (alive, serious abuse or neglect), s.44(2)-(3).
OUTCOMES = {"death": "the adult died (s.44(2))", "serious-harm": "serious abuse or neglect (s.44(3))"}


def _require(case: Case, allowed: set[Stage], needs: str) -> None:
    """The stage check every step makes; the refusal names the command that comes first."""
    require_stage(case, allowed, needs.replace("REF", case.ref))


def open_sar(
    session: Session, core: Core, *, received_at: datetime, referring_agency: str, outcome: str,
    actor: str, source: str,
) -> Case:
    """S0: a SAR referral is received; the screening meeting is due within 15 working days."""
    now = core.clock.now()
    errors: dict[str, str] = {}
    if received_at > now:
        errors["received_at"] = "the referral cannot have been received in the future"
    try:
        core.protocol.agency(referring_agency)
    except UnknownAgency as exc:
        errors["referring_agency"] = str(exc)
    if outcome not in OUTCOMES:
        errors["outcome"] = f"outcome must be one of: {', '.join(OUTCOMES)}"
    if errors:
        raise Invalid(errors)
    case = Case(
        ref=next_ref(session, "SAR", core.calendar.local_date(received_at).year), kind=KIND,
        stage=Stage.SAR_REFERRED, created_at=now, updated_at=now, source=source, referrer=actor,
        referring_agency=referring_agency, outcome=outcome, terms=frozen_terms(core.protocol),
    )
    session.add(case)
    session.flush()
    session.add(SarReview(case_id=case.id or 0, received_at=received_at))
    audit.record(session, at=now, actor=actor, kind="case_opened", case_id=case.id, source=source,
                 stage=case.stage, case_kind=KIND, received_at=received_at.isoformat())
    review_clocks.start(session, core, case, "sar_screening", anchor_at=received_at)
    return case


def sar_of(session: Session, case: Case) -> SarReview:
    if case.kind != KIND:
        raise Refused(f"{case.ref} is not a safeguarding adults review (SAR-... references are)")
    found = session.get(SarReview, case.id)
    assert found is not None, "a SAR case has its sarreview row from the start"
    return found


def _when(core: Core, at: datetime | None, after: datetime, what: str) -> datetime:
    now = core.clock.now()
    at = at or now
    if at > now:
        raise Invalid({"at": f"the {what} cannot be in the future"})
    if at < after:
        raise Invalid({"at": f"the {what} cannot precede the step before it ({after:%d %b %Y})"})
    return at


def screening_held(
    session: Session, core: Core, case: Case, *, basis: str | None = None, at: datetime | None = None,
    actor: str,
) -> None:
    """D-S1 met: the screening meeting was held; the recommendation is due in 5 working days."""
    sar = sar_of(session, case)
    _require(case, {Stage.SAR_REFERRED}, "the screening meeting is already recorded")
    if basis is not None and basis not in BASES:
        raise Invalid({"basis": f"basis must be one of: {', '.join(BASES)}"})
    at = _when(core, at, sar.received_at, "screening meeting")
    sar.screening_held_at, sar.basis = at, basis
    review_clocks.meet(session, case, "sar_screening", at)
    review_clocks.start(session, core, case, "sar_recommendation", anchor_at=at)
    move_stage(session, core, case, Stage.SAR_SCREENED, actor, basis=basis)


def recommendation_sent(
    session: Session, core: Core, case: Case, *, recommendation: str, at: datetime | None = None,
    actor: str,
) -> None:
    """D-S2 met: the panel's recommendation reached the Independent Chair, who decides in 5 WD."""
    sar = sar_of(session, case)
    _require(case, {Stage.SAR_SCREENED},
             "record the screening meeting first (review-bot case REF screening-held)"
             if case.stage == Stage.SAR_REFERRED else "the recommendation is already recorded")
    if recommendation not in DECISIONS:
        raise Invalid({"recommendation": f"recommendation must be one of: {', '.join(DECISIONS)}"})
    assert sar.screening_held_at is not None
    at = _when(core, at, sar.screening_held_at, "recommendation")
    sar.recommendation, sar.recommendation_sent_at = recommendation, at
    review_clocks.meet(session, case, "sar_recommendation", at)
    review_clocks.start(session, core, case, "sar_decision", anchor_at=at)
    move_stage(session, core, case, Stage.SAR_RECOMMENDED, actor, recommendation=recommendation)


def chair_decision(
    session: Session, core: Core, case: Case, *, decision: str, at: datetime | None = None, actor: str,
) -> None:
    """D-S3 met: the Independent Chair decided (STK l.77). A SAR starts the 6 month clock; no SAR
    closes the case; other learning goes to the alternative learning stage."""
    sar = sar_of(session, case)
    _require(case, {Stage.SAR_RECOMMENDED}, _needs_before_decision(case))
    if decision not in DECISIONS:
        raise Invalid({"decision": f"decision must be one of: {', '.join(DECISIONS)}"})
    assert sar.recommendation_sent_at is not None
    at = _when(core, at, sar.recommendation_sent_at, "decision")
    sar.decision, sar.decided_at = decision, at
    review_clocks.meet(session, case, "sar_decision", at)
    if decision == "sar":
        review_clocks.start(session, core, case, "sar_review", anchor_at=at)
    elif decision == "no-sar":
        for running in deadlines.open_deadlines(session, case):
            deadlines.cancel(running, core.clock.now())
        case.closed_reason = "the Independent Chair decided there is no SAR"
    move_stage(session, core, case, DECISIONS[decision], actor, decision=decision, decided_at=at.isoformat())


def _needs_before_decision(case: Case) -> str:
    if case.stage == Stage.SAR_REFERRED:
        return "record the screening meeting first (review-bot case REF screening-held)"
    if case.stage == Stage.SAR_SCREENED:
        return ("record the recommendation to the Independent Chair first "
                "(review-bot case REF recommendation-sent)")
    return "the Independent Chair's decision is already recorded"


def completed(session: Session, core: Core, case: Case, *, at: datetime | None = None, actor: str) -> None:
    """D-S4 met: the report and learning are available (STK l.141)."""
    sar = sar_of(session, case)
    _require(case, {Stage.SAR_REVIEW},
             "the Independent Chair must decide on a SAR first (review-bot case REF chair-decision sar)"
             if case.stage in (Stage.SAR_REFERRED, Stage.SAR_SCREENED, Stage.SAR_RECOMMENDED)
             else "the review is already recorded as completed")
    assert sar.decided_at is not None
    at = _when(core, at, sar.decided_at, "completion")
    sar.completed_at = at
    review_clocks.meet(session, case, "sar_review", at)
    move_stage(session, core, case, Stage.SAR_COMPLETED, actor)


def published(session: Session, core: Core, case: Case, *, at: datetime | None = None, actor: str) -> None:
    """The board published the report (at its discretion: STK l.398; no statutory duty, process.md 2.5)."""
    sar = sar_of(session, case)
    _require(case, {Stage.SAR_COMPLETED},
             "record the review completed first (review-bot case REF sar-completed)"
             if case.stage == Stage.SAR_REVIEW else "only a completed SAR is published")
    assert sar.completed_at is not None
    sar.published_at = _when(core, at, sar.completed_at, "publication")
    move_stage(session, core, case, Stage.SAR_PUBLISHED, actor)


def sar_view(session: Session, case: Case) -> dict[str, object] | None:
    """What the case view shows of a SAR: dates and choices, no narrative."""
    if case.kind != KIND:
        return None
    sar = session.get(SarReview, case.id)
    if sar is None:
        return None

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"received_at": iso(sar.received_at), "basis": sar.basis,
            "screening_held_at": iso(sar.screening_held_at), "recommendation": sar.recommendation,
            "recommendation_sent_at": iso(sar.recommendation_sent_at), "decision": sar.decision,
            "decided_at": iso(sar.decided_at), "completed_at": iso(sar.completed_at),
            "published_at": iso(sar.published_at)}
