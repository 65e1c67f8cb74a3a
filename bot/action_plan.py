"""A review's action plan (issue 12 item 4; process.md E1, 7.8; decision 0027): each action
answers a recommendation, is owned by one agency, is due 12 weeks after publication unless its
own date is set, and goes through Stockport's stages to verification by the QA group.

Statuses (:data:`STATUSES`, for the report and every reader):

* ``open``: agreed, nothing reported yet (STK App 3 stage 2: the plan goes to the PIP);
* ``in_progress``: the agency reported progress (stage 3: the PIP monitors it at each meeting);
* ``evidence_submitted``: the agency says it is done and evidence is in (KIR l.334: "agencies tell
  the workstream"): its clock is met, the QA group has to verify it;
* ``verified``: the QA group verified the evidence and how impact is measured (stage 4); or it
  sent the evidence back (``send_back``): in progress again, its clock running once more;
* ``not_achieved``: closed without being achieved, with the reason the annual report gives
  (STK l.394);
* ``superseded``: replaced (by another action, a national change), with the reason.

Every action is in exactly one status, so open + verified + closed always add up to the total.
An unresolved action whose date is known has a running ``deadline`` row of kind
:data:`CLOCK` owed by ``agency:<slug>`` (bot.owner_clocks chases the agency within working hours,
through the outbox); submitting evidence meets it, closing cancels it. The action's text and
notes are free text: the audit events carry its number, agency, dates and status only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, func, select

from bot import audit, deadlines, review_clocks
from bot.core import Core
from bot.errors import Invalid, NotFound, Refused
from bot.leases import claim
from bot.models import Case, Deadline, Publication
from bot.models_actions import NonPublication, ReviewAction
from bot.protocol import UnknownAgency
from bot.stages import AFTER_PUBLICATION, LABELS, LOCAL_REVIEW, REVIEW_WORK, Stage

STATUSES = ("open", "in_progress", "evidence_submitted", "verified", "not_achieved", "superseded")
#: The agency still owes it.
OUTSTANDING = frozenset({"open", "in_progress"})
#: Done by the agency, waiting for the QA group.
AWAITING_VERIFICATION = frozenset({"evidence_submitted"})
UNRESOLVED = OUTSTANDING | AWAITING_VERIFICATION
CLOSED = frozenset({"not_achieved", "superseded"})
RESOLVED = CLOSED | {"verified"}
CLOSE_OUTCOMES = ("not-achieved", "superseded")
#: The deadline kind of an action's due date (bot.review_kinds.CLOCKS).
CLOCK = "action_due"

#: Where an action plan is kept: from the first draft (the reviewer drafts the plan with the
#: report, KIR l.274) to the recall event, and for an alternative learning route (process.md A1).
ACTION_STAGES = frozenset(LOCAL_REVIEW - set(REVIEW_WORK[:3])) | {Stage.ALTERNATIVE_LEARNING}
#: Stages from which the review can still be published: an action's date may wait for it.
_PUBLISHABLE = frozenset(LOCAL_REVIEW - AFTER_PUBLICATION)
MAX_TEXT = 2000


def actions_of(session: Session, case: Case) -> list[ReviewAction]:
    """The case's actions in number order (the query the report uses)."""
    return list(session.exec(select(ReviewAction).where(ReviewAction.case_id == case.id)
                             .order_by(col(ReviewAction.number))))


def action_of(session: Session, case: Case, number: int) -> ReviewAction:
    found = session.exec(select(ReviewAction).where(ReviewAction.case_id == case.id,
                                                    ReviewAction.number == number)).first()
    if found is None:
        raise NotFound(f"{case.ref} has no action {number} ('review-bot case {case.ref} actions' lists them)")
    return found


def _free_text(value: str, field: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid({field: f"Give the {what}."})
    if len(value) > MAX_TEXT:
        raise Invalid({field: f"The {what} is longer than {MAX_TEXT} characters."})
    return value


def twelve_weeks_end(session: Session, core: Core, case: Case) -> datetime | None:
    """When the actions are due by default: D-14, ``actions_due`` (12 weeks) after publication
    (KIR l.276); before publication, counted from the publication date set; None if neither."""
    clock = review_clocks.find(session, case, "actions_due")
    if clock is not None:
        return clock.due_at
    pub = session.get(Publication, case.id)
    planned = pub.publication_date if pub else None
    if planned is None or case.stage in AFTER_PUBLICATION:
        return None
    return core.calendar.due_after(core.calendar.start_of_day(planned),
                                   review_clocks.duration(core, case, "actions_due"))


def _check_due(session: Session, core: Core, case: Case, due: date | None, larger: bool) -> None:
    if due is None:
        if larger:
            raise Invalid({"due": "A larger piece of work needs its own due date (--due DATE)."})
        unpublished = session.get(NonPublication, case.id) is not None or case.stage not in _PUBLISHABLE
        if unpublished and review_clocks.find(session, case, "actions_due") is None:
            raise Invalid({"due": f"{case.ref} will not be published, so the 12 weeks have no start: "
                                  "give the due date (--due DATE)."})
        return
    if due < core.calendar.local_date(core.clock.now()):
        raise Invalid({"due": f"The due date {due} is in the past."})
    limit = twelve_weeks_end(session, core, case)
    if not larger and limit is not None and due > core.calendar.local_date(limit):
        period = review_clocks.duration(core, case, "actions_due")
        raise Refused(
            f"{due:%a %d %b %Y} is more than {period} after publication (by "
            f"{core.calendar.local_date(limit):%a %d %b %Y}): an action that takes longer is a larger "
            "piece of work for the partnership (--larger; KIR l.276)")


def _open_clock(session: Session, core: Core, case: Case, action: ReviewAction, anchor_at: datetime) -> None:
    """Start the action's clock, owed by its agency, if its date is known."""
    if action.status not in OUTSTANDING:
        return
    due_at = core.calendar.end_of_day(action.due_on) if action.due_set and action.due_on else None
    if due_at is None:
        published = review_clocks.find(session, case, "actions_due")  # D-14, started at publication
        if published is None:
            return  # due 12 weeks after a publication still to come
        due_at = published.due_at
        action.due_on = core.calendar.local_date(due_at)
    review_clocks.freeze_terms(core, case)  # the owner chase policy the clock follows
    clock = deadlines.open_deadline(session, core.calendar, case, kind=CLOCK, anchor_at=anchor_at,
                                    due_at=due_at, owner=f"agency:{action.agency}")
    session.flush()
    action.deadline_id = clock.id


def _clock(session: Session, action: ReviewAction) -> Deadline | None:
    return session.get(Deadline, action.deadline_id) if action.deadline_id else None


def add(
    session: Session, core: Core, case: Case, *, agency: str, text: str, actor: str,
    due: date | None = None, larger: bool = False, recommendation: int | None = None,
) -> ReviewAction:
    """Add an action to the plan (KIR l.274-276; process.md 7.8)."""
    if case.stage not in ACTION_STAGES:
        raise Refused(f"{case.ref} is at '{LABELS[Stage(case.stage)]}': the action plan is drafted with "
                      "the first draft of a local review (KIR l.274) or for an alternative learning route")
    try:
        core.protocol.agency(agency)
    except UnknownAgency as exc:  # it lists the valid slugs
        raise Invalid({"agency": str(exc)}) from exc
    if recommendation is not None and not 1 <= recommendation <= 999:
        raise Invalid({"recommendation": "A recommendation is numbered from 1."})
    text = _free_text(text, "text", "action")
    _check_due(session, core, case, due, larger)
    now = core.clock.now()
    # The case row locked first: two people adding at once are numbered one after the other
    # instead of one of them meeting the unique (case, number) constraint.
    claim(session, Case, case.id or 0, wait=True)
    last = session.exec(select(func.max(ReviewAction.number)).where(ReviewAction.case_id == case.id)).one()
    action = ReviewAction(case_id=case.id or 0, number=(last or 0) + 1, recommendation=recommendation,
                          agency=agency, text=text, due_on=due, due_set=due is not None, larger=larger,
                          created_at=now, created_by=actor)
    session.add(action)
    _open_clock(session, core, case, action, now)
    audit.record(session, at=now, actor=actor, kind="action_added", case_id=case.id, number=action.number,
                 agency=agency, due_on=action.due_on.isoformat() if action.due_on else None, larger=larger,
                 recommendation=recommendation)
    return action


def start_clocks(session: Session, core: Core, case: Case, published_at: datetime) -> int:
    """Publication starts the clocks of the actions due 12 weeks after it (D-14). Returns how many."""
    started = 0
    for action in actions_of(session, case):
        if action.deadline_id is None and action.status in OUTSTANDING:
            _open_clock(session, core, case, action, published_at)
            started += action.deadline_id is not None
    return started


def _require(case: Case, action: ReviewAction, allowed: frozenset[str], needs: str) -> None:
    if action.status not in allowed:
        raise Refused(f"{case.ref} action {action.number} is {action.status.replace('_', ' ')}: {needs}")


def _note(action: ReviewAction, kind: str, note: str, at: datetime, actor: str) -> None:
    action.notes = [*action.notes, {"at": at.isoformat(), "by": actor, "kind": kind, "note": note}]


def progress(
    session: Session, core: Core, case: Case, action: ReviewAction, *, note: str, actor: str
) -> None:
    """The agency reported progress (STK App 3 stage 3: the PIP monitors the plan)."""
    _require(case, action, OUTSTANDING, "progress is recorded while the action is open or in progress")
    now = core.clock.now()
    _note(action, "progress", _free_text(note, "note", "progress note"), now, actor)
    action.status = "in_progress"
    audit.record(session, at=now, actor=actor, kind="action_progress", case_id=case.id, number=action.number)


def evidence(
    session: Session, core: Core, case: Case, action: ReviewAction, *, note: str, actor: str
) -> None:
    """Evidence that the action is done and how its impact is measured (STK App 3 stage 4)."""
    _require(case, action, UNRESOLVED, "evidence is added until the action is verified or closed")
    now = core.clock.now()
    _note(action, "evidence", _free_text(note, "note", "evidence note"), now, actor)
    if action.status == "open":
        action.status = "in_progress"
    audit.record(session, at=now, actor=actor, kind="action_evidence", case_id=case.id, number=action.number)


def submit(session: Session, core: Core, case: Case, action: ReviewAction, *, actor: str) -> None:
    """The agency says the action is complete (KIR l.334): its clock is met and it waits for the
    QA group. Refused without evidence: the QA group verifies evidence, not a word (STK App 3)."""
    _require(case, action, OUTSTANDING, "only an open action is submitted")
    if not any(n["kind"] == "evidence" for n in action.notes):
        raise Refused(f"{case.ref} action {action.number} has no evidence yet: add it first "
                      f"('case {case.ref} actions {action.number} evidence --note ...')")
    now = core.clock.now()
    action.status, action.submitted_at = "evidence_submitted", now
    clock = _clock(session, action)
    on_time = clock is None or now <= clock.due_at
    if clock is not None:
        deadlines.meet(clock, now)
    audit.record(session, at=now, actor=actor, kind="action_submitted", case_id=case.id, number=action.number,
                 agency=action.agency, on_time=on_time)


def verify(session: Session, core: Core, case: Case, action: ReviewAction, *, actor: str) -> None:
    """The QA group verified the evidence and the impact measure (STK App 3 stage 4). Who may is
    the use case's check (bot.usecases.actions)."""
    _require(case, action, AWAITING_VERIFICATION, "the evidence is submitted first (submit)")
    now = core.clock.now()
    action.status, action.verified_at, action.verified_by = "verified", now, actor
    audit.record(session, at=now, actor=actor, kind="action_verified", case_id=case.id, number=action.number)


def send_back(session: Session, core: Core, case: Case, action: ReviewAction, *, reason: str,
              actor: str) -> None:
    """The QA group is not satisfied with the evidence (STK App 3 stage 4): the action is in
    progress again and its agency is chased to its date once more (at once if it has passed)."""
    _require(case, action, AWAITING_VERIFICATION, "only submitted evidence is sent back")
    now = core.clock.now()
    _note(action, "returned", _free_text(reason, "reason", "reason"), now, actor)
    action.status, action.submitted_at, action.deadline_id = "in_progress", None, None
    _open_clock(session, core, case, action, now)
    audit.record(session, at=now, actor=actor, kind="action_returned", case_id=case.id, number=action.number,
                 agency=action.agency)


def close(session: Session, core: Core, case: Case, action: ReviewAction, *, outcome: str, reason: str,
          actor: str) -> None:
    """Close an action not achieved or superseded, with the reason the annual report gives
    (STK l.394). Its chasing stops."""
    if outcome not in CLOSE_OUTCOMES:
        raise Invalid({"outcome": f"Close as one of: {', '.join(CLOSE_OUTCOMES)}."})
    _require(case, action, UNRESOLVED, "only an action not yet verified or closed is closed")
    now = core.clock.now()
    action.close_reason = _free_text(reason, "reason", "reason")
    action.status, action.closed_at, action.closed_by = outcome.replace("-", "_"), now, actor
    clock = _clock(session, action)
    if clock is not None:
        deadlines.cancel(clock, now)
    audit.record(session, at=now, actor=actor, kind="action_closed", case_id=case.id, number=action.number,
                 outcome=action.status)


def move_due(session: Session, core: Core, case: Case, action: ReviewAction, due: date, *,
             actor: str) -> None:
    """Set the action's own due date; the running clock is replaced (its chasers stop)."""
    _require(case, action, OUTSTANDING, "only an open action's date moves")
    _check_due(session, core, case, due, action.larger)
    now = core.clock.now()
    clock = _clock(session, action)
    if clock is not None:
        deadlines.cancel(clock, now)
    action.due_on, action.due_set, action.deadline_id = due, True, None
    _open_clock(session, core, case, action, now)
    audit.record(session, at=now, actor=actor, kind="action_due_moved", case_id=case.id, number=action.number,
                 due_on=due.isoformat())


def unresolved(session: Session, case: Case, *, larger: bool | None = None) -> list[ReviewAction]:
    """Actions not yet verified or closed (``larger``: only those, or only the others)."""
    return [a for a in actions_of(session, case)
            if a.status in UNRESOLVED and (larger is None or a.larger == larger)]


def overdue(session: Session, core: Core, action: ReviewAction) -> bool:
    clock = _clock(session, action)
    return (action.status in OUTSTANDING and clock is not None and clock.met_at is None
            and clock.cancelled_at is None and core.clock.now() > clock.due_at)


def counts(session: Session, core: Core, case: Case) -> dict[str, int]:
    """The plan in numbers (the card shows them; no text): ``open`` + ``verified`` + ``closed``
    is ``total``; ``overdue`` and ``awaiting_verification`` are parts of ``open``."""
    found = actions_of(session, case)
    return {
        "total": len(found),
        "open": sum(a.status in UNRESOLVED for a in found),
        "overdue": sum(overdue(session, core, a) for a in found),
        "awaiting_verification": sum(a.status in AWAITING_VERIFICATION for a in found),
        "verified": sum(a.status == "verified" for a in found),
        "closed": sum(a.status in CLOSED for a in found),
        "larger": sum(a.larger for a in found),
    }


def summary(session: Session, core: Core, case: Case) -> dict[str, int] | None:
    """The counts for the case card once the review is published (None before)."""
    return counts(session, core, case) if case.stage in AFTER_PUBLICATION else None


def card_line(counts: dict[str, int]) -> str:
    """The plan in one line of fixed words and numbers (Slack and Teams cards)."""
    if not counts["total"]:
        return "no actions recorded yet ('review-bot case REF actions add')"
    line = (f"{counts['total']} action(s): {counts['open']} open ({counts['overdue']} overdue, "
            f"{counts['awaiting_verification']} awaiting verification), {counts['verified']} verified, "
            f"{counts['closed']} closed")
    return line + (f"; {counts['larger']} larger piece(s) of work" if counts["larger"] else "")


def chase_words(session: Session, deadline: Deadline) -> tuple[str, str]:
    """The label and the "how to record it" of an action's chaser: its number and recommendation,
    never its text (the agency has the action plan)."""
    action = session.exec(select(ReviewAction).where(ReviewAction.deadline_id == deadline.id)).first()
    if action is None:
        return "review action (D-14)", ""
    answers = f", recommendation {action.recommendation}" if action.recommendation else ""
    return (f"action {action.number} of the review's action plan{answers} (D-14)",
            f"review-bot case REF actions {action.number} submit")


def as_json(session: Session, core: Core, action: ReviewAction) -> dict[str, Any]:
    """One action for ``case REF actions --json`` (the business unit's view: it has the text)."""
    clock = _clock(session, action)
    return {
        "number": action.number, "recommendation": action.recommendation, "agency": action.agency,
        "text": action.text, "status": action.status, "larger": action.larger,
        "due_on": action.due_on.isoformat() if action.due_on else None,
        "due_from_publication": not action.due_set,
        "overdue": overdue(session, core, action),
        "deadline_id": clock.id if clock else None,
        "notes": [dict(n) for n in action.notes],
        "submitted_at": action.submitted_at.isoformat() if action.submitted_at else None,
        "verified_at": action.verified_at.isoformat() if action.verified_at else None,
        "verified_by": action.verified_by,
        "closed_at": action.closed_at.isoformat() if action.closed_at else None,
        "close_reason": action.close_reason,
    }
