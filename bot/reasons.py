"""Why a queued message exists, and whether that is still true when it is about to go (issue 9).

An outbox row carries a ``reason``: space-separated terms that must all still hold for the
message to be worth sending. The outbox checks them in the transaction that claims the row, after
a hold for working hours, a retry or a restart; a message whose reason has gone is cancelled
with an audit event instead of being sent. Terms name rows by id only (no identifiers):

* ``deadline:<id>``: the clock is still running (not met, not cancelled): statutory alerts,
  agency chasers (Working Together 2023, ch. 4-5: the notification, the rapid review) and a media
  enquiry's repeats and reminders (decision 0026);
* ``request:<id>``: the agency request is still awaited (not returned, not withdrawn);
* ``case:<id>``: the case is not closed (e.g. not closed as opened by mistake);
* ``media:<id>:open``: the enquiry has not been answered or closed;
* ``media:<id>:unacknowledged``: nobody has picked the enquiry up yet (the repeat alert).

No reason (None) means the message stands whatever happens next, e.g. a released statement.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from bot.models import AgencyRequest, Case, Deadline, MediaEnquiry
from bot.stages import CLOSED_STAGES, Stage


def deadline(row: Deadline) -> str:
    return f"deadline:{row.id}"


def request(row: AgencyRequest) -> str:
    return f"request:{row.id}"


def case(row: Case) -> str:
    return f"case:{row.id}"


def media_open(row: MediaEnquiry) -> str:
    return f"media:{row.id}:open"


def media_unacknowledged(row: MediaEnquiry) -> str:
    return f"media:{row.id}:unacknowledged"


def _deadline_running(session: Session, row_id: int, _: str) -> bool:
    row = session.get(Deadline, row_id)
    return row is not None and row.met_at is None and row.cancelled_at is None


def _request_awaited(session: Session, row_id: int, _: str) -> bool:
    row = session.get(AgencyRequest, row_id)
    return row is not None and row.status == "sent"


def _case_open(session: Session, row_id: int, _: str) -> bool:
    row = session.get(Case, row_id)
    return row is not None and Stage(row.stage) not in CLOSED_STAGES


def _media(session: Session, row_id: int, state: str) -> bool:
    row = session.get(MediaEnquiry, row_id)
    if row is None:
        return False
    if state == "unacknowledged":
        return row.status == "open"
    return row.status in ("open", "acknowledged")


_CHECKS: dict[str, Callable[[Session, int, str], bool]] = {
    "deadline": _deadline_running, "request": _request_awaited, "case": _case_open, "media": _media,
}


def gone(session: Session, reason: str | None) -> str | None:
    """The first term of ``reason`` that no longer holds, or None if the message should still go.

    An unreadable term counts as gone: a message nobody can justify is not sent."""
    for term in (reason or "").split():
        kind, _, rest = term.partition(":")
        row_id, _, state = rest.partition(":")
        check = _CHECKS.get(kind)
        if check is None or not row_id.isdigit() or not check(session, int(row_id), state):
            return term
    return None
