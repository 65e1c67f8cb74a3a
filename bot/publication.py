"""A local review's road to publication (process.md L3, P0 to P2) and the clocks it starts.

The media routing (process.md 6.2, rows 3 to 5 and 12) turns on whether the report is held back
for proceedings, has a publication date, or is published; a press release waits for the last
(M-5). Setting the date starts two clocks counted BACK from it (D-11 the pre-publication notice,
D-12 practitioners and family told: at least 7 working days before); publishing starts D-13 to
D-15 (bot.review_kinds). Each function is one transition with its refusal, its event and its actor.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from bot import action_plan, audit, deadlines, review_clocks
from bot.cases import move_stage, require_stage
from bot.core import Core
from bot.errors import Invalid, Refused
from bot.models import Case, Publication
from bot.protocol import UnknownAgency
from bot.stages import AFTER_PUBLICATION, Stage

EMBARGO_REASONS = ("criminal", "coroner")
#: Where a publication date may be set: the final report approved, held back, or a date moved
#: (and, for cases from before the approval stages existed, the local review's first stage).
_UNDER_REVIEW = frozenset({Stage.LCSPR, Stage.FINAL_APPROVED, Stage.EMBARGOED, Stage.PRE_PUBLICATION})
#: The clocks counted back from the publication date (process.md 2.3: P1).
NOTICES = ("prepublication_notice", "practitioner_notice")
#: The clocks publication starts (process.md 2.3: P2; D-13 to D-15).
AFTER = ("website_review", "actions_due", "recall_event")


def publication_of(session: Session, case: Case) -> Publication:
    """The case's publication row, created empty on first use."""
    assert case.id is not None
    found = session.get(Publication, case.id)
    if found is None:
        found = Publication(case_id=case.id)
        session.add(found)
    return found


def embargo(
    session: Session, core: Core, case: Case, *, reason: str, actor: str, expected: date | None = None,
) -> None:
    """L3 -> P0: the report is complete but publication waits for criminal or coroner proceedings.

    The decision to delay must also be notified to the Panel and the Secretary of State with the
    reasons and an expected date (KIR l.316; SW-COMMS l.57): 'case REF draft delay-notice'. A
    publication date already set is withdrawn, and with it the notice clocks.
    """
    if reason not in EMBARGO_REASONS:
        raise Invalid({"reason": f"reason must be one of: {', '.join(EMBARGO_REASONS)}"})
    require_stage(case, {Stage.LCSPR, Stage.ENDORSEMENT, Stage.FINAL_APPROVED, Stage.PRE_PUBLICATION},
                  "only a local review whose report is complete can be held back")
    now = core.clock.now()
    if expected is not None and expected < core.calendar.local_date(now):
        raise Invalid({"expected": f"the expected publication date {expected} is in the past"})
    pub = publication_of(session, case)
    pub.embargoed_at, pub.embargo_reason = now, reason
    pub.expected_publication_date = expected
    for kind in NOTICES:
        review_clocks.cancel(session, case, kind, now)
    move_stage(session, core, case, Stage.EMBARGOED, actor, embargo_reason=reason,
               expected=expected.isoformat() if expected else None)


def set_publication_date(
    session: Session, core: Core, case: Case, when: date, *, actor: str
) -> str | None:
    """L3/P0 -> P1: a publication date is set (SW-COMMS l.63; STK l.455).

    The full report must reach the National Panel, the Secretary of State and Ofsted at least
    ``prepub_notice`` (7 working days, never less: bot.protocol) before it (D-11; Working
    Together 2023 ch. 5; SW-COMMS l.79; KIR l.312), and the practitioners and the family are told
    the date at the same time (D-12, KIR l.314). A date too soon for that is refused, naming the
    earliest valid one, unless the protocol says ``review.short_notice = "warn"``: then it is
    accepted and the warning returned. Moving the date moves both clocks (a notice already
    sent must be sent again with the new date)."""
    require_stage(case, _UNDER_REVIEW, "a publication date is set once the final report is approved")
    now = core.clock.now()
    cal = core.calendar
    today = cal.local_date(now)
    if when < today:
        raise Invalid({"publication_date": f"the publication date {when} is in the past"})
    if case.stage == Stage.PRE_PUBLICATION and publication_of(session, case).publication_date == when:
        return None  # the same date: its notices (sent or not) stand
    period = review_clocks.duration(core, case, "prepub_notice")
    last_day = review_clocks.notice_day(cal, when, period)
    warning = None
    if last_day < today:
        earliest = review_clocks.earliest_publication(cal, today, period)
        said = _earliest_words(core, earliest)
        if core.protocol.review.short_notice != "warn":
            raise Invalid({"publication_date": (
                f"{when:%a %d %b %Y} leaves less than {period} for the notice to the National Panel, "
                f"the Secretary of State and Ofsted (it was due by {last_day:%a %d %b %Y}); the "
                f"earliest valid publication date is {said}")})
        warning = (f"Warning: {when:%a %d %b %Y} leaves less than {period} of notice (due by "
                   f"{last_day:%a %d %b %Y}); the earliest date with full notice is {said}.")
    pub = publication_of(session, case)
    moved = pub.publication_date is not None and pub.publication_date != when
    pub.publication_date = when
    for kind in NOTICES:
        review_clocks.start(session, core, case, kind, anchor_at=now, due_at=cal.end_of_day(last_day))
    detail = {"publication_date": when.isoformat(), "notice_due": last_day.isoformat(),
              **({"short_notice": True} if warning else {})}
    if case.stage == Stage.PRE_PUBLICATION:
        audit.record(session, at=now, actor=actor, kind="publication_date_changed" if moved else
                     "publication_date_set", case_id=case.id, **detail)
    else:
        move_stage(session, core, case, Stage.PRE_PUBLICATION, actor, **detail)
    return warning


def _earliest_words(core: Core, earliest: date) -> str:
    """The earliest date, and the first working day from it when it is not one."""
    said = f"{earliest:%a %d %b %Y}"
    if not core.calendar.is_working_day(earliest):
        first = core.calendar.add_working_days(earliest, 1)
        said += f" (the first working day: {first:%a %d %b %Y})"
    return said


def notice_sent(session: Session, core: Core, case: Case, *, actor: str, at: datetime | None = None) -> None:
    """D-11 met: the full report went to the National Panel, the Secretary of State and Ofsted."""
    _notice(session, core, case, "prepublication_notice", actor=actor, at=at)


def practitioners_told(
    session: Session, core: Core, case: Case, *, actor: str, at: datetime | None = None
) -> None:
    """D-12 met: the practitioners were told the date and a person sent the family letter."""
    _notice(session, core, case, "practitioner_notice", actor=actor, at=at)


def _notice(session: Session, core: Core, case: Case, kind: str, *, actor: str, at: datetime | None) -> None:
    require_stage(case, {Stage.PRE_PUBLICATION},
                  "notices follow the publication date (publication-date DATE)")
    now = core.clock.now()
    at = at or now
    if at > now:
        raise Invalid({"at": "the notice cannot have been sent in the future"})
    if review_clocks.meet(session, case, kind, at) is None:
        raise Refused(f"{case.ref}: that notice is already recorded for this publication date")
    audit.record(session, at=now, actor=actor, kind=f"{kind}_sent", case_id=case.id, when=at.isoformat())


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
    # D-11 and D-12 stop (process.md 2.3): a notice never recorded is cancelled, and the event says so.
    unrecorded = [k for k in NOTICES if review_clocks.running(session, case, k) is not None]
    for kind in unrecorded:
        review_clocks.cancel(session, case, kind, now)
    for kind in AFTER:
        review_clocks.start(session, core, case, kind, anchor_at=at)
    action_plan.start_clocks(session, core, case, at)  # actions due 12 weeks after it (D-14)
    move_stage(session, core, case, Stage.PUBLISHED, actor, published_at=at.isoformat(),
               **({"notices_not_recorded": unrecorded} if unrecorded else {}))


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
        case, {Stage.PRE_PUBLICATION, *AFTER_PUBLICATION},
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
