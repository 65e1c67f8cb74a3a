"""A local review's road to publication (process.md L3, P0 to P2) as far as the media protocol needs it.

The media routing (process.md 6.2, rows 3 to 5 and 12) turns on whether the report is held back
for proceedings, has a publication date, or is published; a press release waits for the last
(M-5). Each function is one transition with its refusal, its event and its actor.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from bot import audit, deadlines
from bot.cases import move_stage, require_stage
from bot.core import Core
from bot.errors import Invalid
from bot.models import Case, Publication
from bot.protocol import UnknownAgency
from bot.stages import Stage

EMBARGO_REASONS = ("criminal", "coroner")
_UNDER_REVIEW = frozenset({Stage.LCSPR, Stage.EMBARGOED, Stage.PRE_PUBLICATION})


def publication_of(session: Session, case: Case) -> Publication:
    """The case's publication row, created empty on first use."""
    assert case.id is not None
    found = session.get(Publication, case.id)
    if found is None:
        found = Publication(case_id=case.id)
        session.add(found)
    return found


def embargo(session: Session, core: Core, case: Case, *, reason: str, actor: str) -> None:
    """L3 -> P0: the report is complete but publication waits for criminal or coroner proceedings.

    The decision to delay must also be notified to the Panel and the Secretary of State
    (KIR l.316; SW-COMMS l.57): the event records that the business unit was told so.
    """
    if reason not in EMBARGO_REASONS:
        raise Invalid({"reason": f"reason must be one of: {', '.join(EMBARGO_REASONS)}"})
    require_stage(case, {Stage.LCSPR, Stage.PRE_PUBLICATION}, "only a local review can be held back")
    pub = publication_of(session, case)
    pub.embargoed_at, pub.embargo_reason = core.clock.now(), reason
    move_stage(session, core, case, Stage.EMBARGOED, actor, embargo_reason=reason)


def set_publication_date(
    session: Session, core: Core, case: Case, when: date, *, actor: str
) -> None:
    """L3/P0 -> P1: a publication date is set (SW-COMMS l.63; STK l.455)."""
    require_stage(case, _UNDER_REVIEW, "a publication date is set for a local review")
    today = core.calendar.local_date(core.clock.now())
    if when < today:
        raise Invalid({"publication_date": f"the publication date {when} is in the past"})
    pub = publication_of(session, case)
    pub.publication_date = when
    if case.stage == Stage.PRE_PUBLICATION:
        audit.record(
            session, at=core.clock.now(), actor=actor, kind="publication_date_changed",
            case_id=case.id, publication_date=when.isoformat(),
        )
        return
    move_stage(session, core, case, Stage.PRE_PUBLICATION, actor, publication_date=when.isoformat())


def publish(
    session: Session, core: Core, case: Case, *, actor: str, at: datetime | None = None
) -> None:
    """P1 -> P2: the review is published; the 6 month clock is met and press releases are allowed."""
    require_stage(
        case, {Stage.PRE_PUBLICATION}, "set the publication date first (case REF publication-date DATE)"
    )
    now = core.clock.now()
    at = at or now
    if at > now:
        raise Invalid({"at": "the review cannot have been published in the future"})
    pub = publication_of(session, case)
    pub.published_at = at
    deadlines.meet_statutory(session, case, "lcspr_publication", at)
    move_stage(session, core, case, Stage.PUBLISHED, actor, published_at=at.isoformat())


def authorise_agency(
    session: Session, core: Core, case: Case, agency: str, *, actor: str
) -> None:
    """M-8: an agency may speak for itself about this review; its words still need the Chair and
    the Council press office (SW-COMMS l.93). Decided as part of publication planning."""
    try:
        core.protocol.agency(agency)
    except UnknownAgency as exc:  # it lists the valid slugs
        raise Invalid({"agency": str(exc)}) from exc
    require_stage(
        case, {Stage.PRE_PUBLICATION, Stage.PUBLISHED},
        "agencies are authorised to speak as part of publication planning (SW-COMMS l.93)",
    )
    pub = publication_of(session, case)
    if agency in pub.authorised_agencies:
        return
    pub.authorised_agencies = [*pub.authorised_agencies, agency]
    audit.record(
        session, at=core.clock.now(), actor=actor, kind="agency_authorised_to_speak",
        case_id=case.id, agency=agency,
    )
