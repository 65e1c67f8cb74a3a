"""The local review from commissioning to the final report (process.md 2.2 L1 to L3; issue 12).

Each function is one transition, like bot/cases.py: it checks the case can make it (refusing with
what the case needs first), meets the clock the step satisfies, starts the next one with its owner
(bot.review_clocks), moves the stage and records an event with its actor, all in the caller's
transaction. Which clocks run depends on the case's methodology (decision 0022):

* ``learning-event`` (Kirklees): D-07 learning event, D-08 first draft, D-09a-d workstream,
  minutes, amendments and business group (KIR l.207-308);
* ``imr`` (Stockport): "IMR due" dates set per case and agency (STK l.296, l.321);
* ``other`` (action learning, peer review, thematic, single agency, desktop; STK l.325-331): no
  fixed timers, a target date.

Every methodology keeps D-10 (published within 6 months of the decision) and the approvals.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlmodel import Session, select

from bot import audit, review_clocks
from bot.cases import move_stage, outstanding_requests, require_stage
from bot.core import Core
from bot.errors import Invalid, Refused
from bot.models import AgencyRequest, Case
from bot.models_review import LocalReview
from bot.protocol import METHODOLOGIES, UnknownAgency
from bot.protocol_fields import _check_email
from bot.stages import LOCAL_REVIEW, REVIEW_WORK, Stage

TIMED = "learning-event"


def review_of(session: Session, core: Core, case: Case) -> LocalReview:
    """The case's local review row; a case that reached the review before the row existed gets
    one with the protocol's methodology (migration 0005 copies nothing)."""
    assert case.id is not None
    found = session.get(LocalReview, case.id)
    if found is None:
        found = LocalReview(case_id=case.id, methodology=core.protocol.review.methodology)
        session.add(found)
    return found


def _when(core: Core, at: datetime | None, what: str) -> datetime:
    now = core.clock.now()
    at = at or now
    if at > now:
        raise Invalid({"at": f"the {what} cannot be in the future"})
    return at


def _step(
    session: Session, core: Core, case: Case, *, at: datetime, actor: str, meets: Iterable[str] = (),
    starts: str | None = None, to: Stage | None = None, event: str | None = None,
) -> None:
    """Meet ``meets``, start ``starts`` from ``at`` (when the case's methodology times it), then
    move to ``to`` (or record ``event`` if the stage stays)."""
    for kind in meets:
        review_clocks.meet(session, case, kind, at)
    if starts is not None and review_of(session, core, case).methodology == TIMED:
        review_clocks.start(session, core, case, starts, anchor_at=at)
    if to is not None and case.stage != to:
        move_stage(session, core, case, to, actor, when=at.isoformat())
    elif event is not None:
        audit.record(session, at=core.clock.now(), actor=actor, kind=event, case_id=case.id,
                     when=at.isoformat())


# --- L1: commissioned ---------------------------------------------------------------------


def commission(
    session: Session, core: Core, case: Case, *, reviewer_name: str, reviewer_email: str, actor: str,
    methodology: str | None = None, tor_agreed_on: date | None = None, target: date | None = None,
) -> None:
    """L1: the terms of reference are agreed and the reviewer named (process.md 7.5; KIR l.213-234).
    A later call changes the reviewer (their chasers go to the new one from the next step)."""
    require_stage(case, set(REVIEW_WORK), "a reviewer is commissioned for a local review before its "
                  "final report (decide lcspr first)")
    errors: dict[str, str] = {}
    if not reviewer_name.strip():
        errors["reviewer_name"] = "Give the reviewer's name."
    try:
        email = _check_email(reviewer_email)
    except ValueError:
        errors["reviewer_email"] = "Give the reviewer's work email address."
    if methodology is not None and methodology not in METHODOLOGIES:
        errors["methodology"] = f"methodology must be one of: {', '.join(METHODOLOGIES)}"
    today = core.calendar.local_date(core.clock.now())
    if tor_agreed_on is not None and tor_agreed_on > today:
        errors["tor_agreed_on"] = "the terms of reference cannot be agreed in the future"
    if errors:
        raise Invalid(errors)
    review = review_of(session, core, case)
    if methodology is not None and methodology != review.methodology:
        if case.stage != Stage.LCSPR:
            raise Refused(f"{case.ref} is past its chronology stage: its methodology "
                          f"({review.methodology}) can no longer change")
        review.methodology = methodology
        if methodology != TIMED:
            review_clocks.cancel(session, case, "learning_event", core.clock.now())
    review.reviewer_name, review.reviewer_email = reviewer_name.strip()[:200], email
    review.tor_agreed_on = tor_agreed_on or review.tor_agreed_on
    review.commissioned_at = review.commissioned_at or core.clock.now()
    review.commissioned_by = review.commissioned_by or actor
    audit.record(session, at=core.clock.now(), actor=actor, kind="review_commissioned", case_id=case.id,
                 methodology=review.methodology, reviewer_recorded=True,
                 tor_agreed_on=tor_agreed_on.isoformat() if tor_agreed_on else None)
    chronology_requested(session, core, case)
    if target is not None:
        set_target(session, core, case, target, actor=actor)


def set_target(session: Session, core: Core, case: Case, target: date, *, actor: str) -> None:
    """A target date for the review (a methodology without fixed timers, STK l.325-331)."""
    require_stage(case, set(REVIEW_WORK), "a target date is set while the review is under way")
    if target < core.calendar.local_date(core.clock.now()):
        raise Invalid({"target": f"the target date {target} is in the past"})
    review_of(session, core, case).target_date = target
    review_clocks.start(session, core, case, "review_target", anchor_at=core.clock.now(),
                        due_at=core.calendar.end_of_day(target))
    audit.record(session, at=core.clock.now(), actor=actor, kind="review_target_set", case_id=case.id,
                 target=target.isoformat())


# --- L2a-L2b: chronologies and the composite ----------------------------------------------------


def chronology_requested(session: Session, core: Core, case: Case) -> None:
    """D-07 runs from the chronology deadline (KIR l.253: "14 days after the chronology return
    deadline"): the latest due date of the case's chronology requests, moved if one is added."""
    if case.stage not in (Stage.LCSPR, Stage.COMPOSITE_CHRONOLOGY):
        return
    if review_of(session, core, case).methodology != TIMED:
        return
    done = review_clocks.find(session, case, "learning_event")
    if done is not None and done.met_at is not None:
        return
    session.flush()  # the requests just sent
    dues = list(session.exec(select(AgencyRequest.due_at).where(
        AgencyRequest.case_id == case.id, AgencyRequest.kind == "chronology")))
    if dues:
        review_clocks.start(session, core, case, "learning_event", anchor_at=max(dues))


def composite_ready(session: Session, core: Core, case: Case, *, actor: str) -> None:
    """L2a -> L2b: the composite chronology is complete and goes to the reviewer, who plans the
    learning event (KIR l.209). Called by the chronology module when its composite is complete and
    by a person; a case already past this point is left as it is (it may be called again when a
    corrected return replaces an agency's rows)."""
    require_stage(case, LOCAL_REVIEW, "a composite chronology belongs to a local review")
    if case.stage != Stage.LCSPR:
        return
    now = core.clock.now()
    if review_of(session, core, case).methodology == TIMED and review_clocks.find(
            session, case, "learning_event") is None:
        review_clocks.start(session, core, case, "learning_event", anchor_at=now)  # no requests sent
    waiting = sorted(r.agency for r in outstanding_requests(session, case, "chronology"))
    move_stage(session, core, case, Stage.COMPOSITE_CHRONOLOGY, actor, outstanding=waiting)


# --- L2e-L2k: learning event, drafts and approvals ---------------------------------------------


def learning_event_held(
    session: Session, core: Core, case: Case, *, actor: str, at: datetime | None = None
) -> None:
    """L2e: a practitioner learning event was held. D-08 runs from the last one (KIR l.267): a
    second event (the managers', KIR l.257) moves the first draft's due date."""
    require_stage(case, {Stage.LCSPR, Stage.COMPOSITE_CHRONOLOGY, Stage.LEARNING_EVENT},
                  "learning events are held before the first draft")
    at = _when(core, at, "learning event")
    review = review_of(session, core, case)
    review.learning_events += 1
    _step(session, core, case, at=at, actor=actor, meets=["learning_event"], starts="first_draft",
          to=Stage.LEARNING_EVENT, event="learning_event_held")


def draft_received(
    session: Session, core: Core, case: Case, *, actor: str, at: datetime | None = None
) -> None:
    """L2g: the reviewer's first draft is in; it goes to the Independent Chair's read and the
    workstream, which meets within 14 days (KIR l.282-294)."""
    review = review_of(session, core, case)
    allowed = {Stage.LEARNING_EVENT} if review.methodology == TIMED else {
        Stage.LCSPR, Stage.COMPOSITE_CHRONOLOGY, Stage.LEARNING_EVENT}
    require_stage(case, allowed, "the first draft follows the learning event (learning-event-held)"
                  if review.methodology == TIMED else "the first draft comes before the approvals")
    at = _when(core, at, "draft")
    _step(session, core, case, at=at, actor=actor, meets=["first_draft"], starts="workstream_meeting",
          to=Stage.FIRST_DRAFT)


def workstream_met(
    session: Session, core: Core, case: Case, *, actor: str, at: datetime | None = None
) -> None:
    """L2i: the workstream considered the draft (one chance to comment, KIR l.288); its minutes
    are due within 48 hours (KIR l.300)."""
    require_stage(case, {Stage.FIRST_DRAFT}, "the workstream meets on the first draft (draft-received)")
    at = _when(core, at, "meeting")
    _step(session, core, case, at=at, actor=actor, meets=["workstream_meeting"], starts="minutes",
          to=Stage.WORKSTREAM)


def minutes_sent(
    session: Session, core: Core, case: Case, *, actor: str, at: datetime | None = None
) -> None:
    """L2i: minutes and amendments went to the reviewer, who amends within 48 hours (KIR l.302)."""
    require_stage(case, {Stage.WORKSTREAM}, "minutes follow the workstream meeting (workstream-met)")
    at = _when(core, at, "minutes")
    _step(session, core, case, at=at, actor=actor, meets=["minutes"], starts="amendments",
          event="minutes_sent")


def to_business_group(
    session: Session, core: Core, case: Case, *, actor: str, at: datetime | None = None
) -> None:
    """L2j: the amended review is issued to the business group, who approve or amend it within
    14 days, electronically; silence means no comments (KIR l.306)."""
    require_stage(case, {Stage.WORKSTREAM}, "the business group gets the review the workstream "
                  "approved (workstream-met)")
    at = _when(core, at, "issue")
    _step(session, core, case, at=at, actor=actor, meets=["minutes", "amendments"], starts="business_group",
          to=Stage.BUSINESS_GROUP)


def business_group_approved(
    session: Session, core: Core, case: Case, *, actor: str, at: datetime | None = None
) -> None:
    """L2j -> L2k: the business group approved; the partnership is to endorse it."""
    require_stage(case, {Stage.BUSINESS_GROUP}, "the business group approves the review issued to it "
                  "(to-business-group)")
    at = _when(core, at, "approval")
    _step(session, core, case, at=at, actor=actor, meets=["business_group"], to=Stage.ENDORSEMENT)


def endorsed(
    session: Session, core: Core, case: Case, *, actor: str, at: datetime | None = None
) -> None:
    """L2k -> L3: the partnership formally approves the report and accepts its recommendations
    (SW-COMMS l.38; STK l.371-373); publication planning starts."""
    require_stage(case, {Stage.ENDORSEMENT}, "the partnership endorses the review its business group "
                  "approved (business-group-approved)")
    at = _when(core, at, "endorsement")
    _step(session, core, case, at=at, actor=actor, to=Stage.FINAL_APPROVED)


# --- IMR model (Stockport) ---------------------------------------------------------------------


def _imr_agency(core: Core, agency: str) -> str:
    try:
        return core.protocol.agency(agency).slug
    except UnknownAgency as exc:
        raise Invalid({"agency": str(exc)}) from exc


def imr_due(session: Session, core: Core, case: Case, agency: str, due: date, *, actor: str) -> None:
    """Set (or move) an agency's IMR due date, agreed at the panel's first meeting (STK l.296,
    l.321). The agency is reminded and chased like any owner."""
    slug = _imr_agency(core, agency)
    require_stage(case, set(REVIEW_WORK), "IMR dates are set while the review is under way")
    if review_of(session, core, case).methodology != "imr":
        raise Refused(f"{case.ref} is not run on the IMR model; commission it with --methodology imr")
    if due < core.calendar.local_date(core.clock.now()):
        raise Invalid({"due": f"the IMR due date {due} is in the past"})
    review_clocks.start(session, core, case, "imr_due", anchor_at=core.clock.now(),
                        due_at=core.calendar.end_of_day(due), agency=slug)
    audit.record(session, at=core.clock.now(), actor=actor, kind="imr_due_set", case_id=case.id,
                 agency=slug, due=due.isoformat())


def imr_received(session: Session, core: Core, case: Case, agency: str, *, actor: str,
                 at: datetime | None = None) -> None:
    slug = _imr_agency(core, agency)
    at = _when(core, at, "IMR")
    if review_clocks.meet(session, case, "imr_due", at, agency=slug) is None:
        raise Refused(f"{case.ref} has no IMR due from {slug}")
    audit.record(session, at=core.clock.now(), actor=actor, kind="imr_received", case_id=case.id,
                 agency=slug)
