"""The local review's clocks as rows with an owner (decision 0001; issue 12; decision 0022).

Each clock of :data:`bot.review_kinds.CLOCKS` is a ``deadline`` row whose ``owner`` says who owes
it: the sweep reminds and chases that person within working hours, through the outbox
(bot.owner_clocks). The durations come from the case's frozen terms; a case opened before a
duration existed takes the protocol's when its first review clock opens, and keeps it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from bot import deadlines
from bot.calendar import Calendar
from bot.core import Core
from bot.duration import Duration
from bot.models import Case, Deadline
from bot.protocol import OWNER_CHASE
from bot.review_kinds import CLOCKS


def freeze_terms(core: Core, case: Case) -> None:
    """Add to the case's frozen terms what the local review needs and the case never froze
    (it opened before these durations existed); what it froze stays (architecture rule 7)."""
    now = core.protocol.terms()
    terms = dict(case.terms or {})
    durations = {**now["durations"], **terms.get("durations", {})}
    chase = {**terms.get("chase", {})}
    chase.setdefault(OWNER_CHASE, now["chase"][OWNER_CHASE])
    if durations != terms.get("durations") or chase != terms.get("chase"):
        case.terms = {**terms, "durations": durations, "chase": chase}  # a new dict: JSON change seen


def duration(core: Core, case: Case, name: str) -> Duration:
    freeze_terms(core, case)
    return deadlines.case_duration(case, name)


def owner_for(kind: str, agency: str | None = None) -> str:
    owner = CLOCKS[kind].owner
    if owner == "agency":
        assert agency, f"{kind} is owed by an agency"
        return f"agency:{agency}"
    return owner


def find(session: Session, case: Case, kind: str, owner: str | None = None) -> Deadline | None:
    """The newest clock of ``kind`` on the case (of ``owner``, when one is given)."""
    query = select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == kind,
                                   col(Deadline.request_id).is_(None))
    if owner is not None:
        query = query.where(Deadline.owner == owner)
    return session.exec(query.order_by(col(Deadline.id).desc())).first()


def running(session: Session, case: Case, kind: str, owner: str | None = None) -> Deadline | None:
    found = find(session, case, kind, owner)
    return found if found is not None and found.met_at is None and found.cancelled_at is None else None


def start(
    session: Session, core: Core, case: Case, kind: str, *, anchor_at: datetime,
    due_at: datetime | None = None, agency: str | None = None,
) -> Deadline:
    """Start the clock ``kind`` from ``anchor_at`` (its protocol duration) or due at ``due_at``.
    A running clock with the same due time stays; one with another is replaced (an anchor
    corrected, a date moved), so its chasers stop and the new one's start."""
    owner = owner_for(kind, agency)
    clock = CLOCKS[kind]
    if due_at is None:
        assert clock.duration is not None, f"{kind} is due on a date set on the case"
        due_at = core.calendar.due_after(anchor_at, duration(core, case, clock.duration))
    else:
        freeze_terms(core, case)
    existing = running(session, case, kind, owner)
    if existing is not None:
        if existing.due_at == due_at:
            return existing
        deadlines.cancel(existing, core.clock.now())
    return deadlines.open_deadline(session, core.calendar, case, kind=kind, anchor_at=anchor_at,
                                   due_at=due_at, owner=owner)


def meet(session: Session, case: Case, kind: str, at: datetime, agency: str | None = None) -> Deadline | None:
    found = running(session, case, kind, f"agency:{agency}" if agency else None)
    if found is not None:
        deadlines.meet(found, at)
    return found


def cancel(session: Session, case: Case, kind: str, at: datetime) -> None:
    for found in session.exec(select(Deadline).where(
        Deadline.case_id == case.id, Deadline.kind == kind, col(Deadline.met_at).is_(None),
        col(Deadline.cancelled_at).is_(None),
    )):
        deadlines.cancel(found, at)


# --- clocks counted back from a future date (D-11, D-12) -----------------------------------


def notice_day(cal: Calendar, publication: date, period: Duration) -> date:
    """The last day the pre-publication notice may go: ``period`` before the publication date
    (7 working days by default: Working Together 2023 ch. 5; SW-COMMS l.79; KIR l.312)."""
    return cal.local_date(cal.shift_back(cal.end_of_day(publication), period))


#: How far ahead :func:`earliest_publication` looks (a period of a few months at most).
_SEARCH_DAYS = 800


def earliest_publication(cal: Calendar, today: date, period: Duration) -> date:
    """The first publication date whose notice can still go today or later."""
    day = today
    for _ in range(_SEARCH_DAYS):
        if notice_day(cal, day, period) >= today:
            return day
        day = date.fromordinal(day.toordinal() + 1)
    raise ValueError(f"no publication date within {_SEARCH_DAYS} days allows {period} of notice")
