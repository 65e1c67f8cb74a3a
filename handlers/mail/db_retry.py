"""Which database errors the intake retries, and what it does when they do not pass (issue 10).

A lock, a lost connection, a serialization failure or a deadlock is not the message's fault: it
must neither send the message to triage nor mark it processed. After a few attempts the intake
raises :class:`IntakeDeferred` and the poll leaves the message in the mailbox for the next tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError

T = TypeVar("T")


class IntakeDeferred(Exception):
    """The database was busy or lost for every attempt: the message was not recorded and must
    stay in the mailbox, unmarked, to be read on a later poll (issue 10)."""


#: Attempts at the recording transaction before the message is left in the mailbox, and the
#: pause before each retry (seconds; SQLite's busy_timeout already waits inside each attempt).
ATTEMPTS = 3
PAUSES = (0.05, 0.25)
#: PostgreSQL SQLSTATEs worth another attempt: serialization failure, deadlock, lock not
#: available, and the connection classes (08xxx) (PostgreSQL manual, appendix A).
_TRANSIENT_SQLSTATES = ("40001", "40P01", "55P03", "57P01", "08")


def with_retries(work: Callable[[], T]) -> T:
    """``work()``, again after a transient database error or an integrity error (a concurrent
    writer's row), at most :data:`ATTEMPTS` times; then :class:`IntakeDeferred`."""
    last: Exception | None = None
    for attempt in range(ATTEMPTS):
        pause(attempt)
        try:
            return work()
        except DBAPIError as exc:
            if not (transient(exc) or isinstance(exc, IntegrityError)):
                raise
            last = exc
    raise IntakeDeferred(f"the database did not take the message ({type(last).__name__})")


def message_id_conflict(exc: IntegrityError) -> bool:
    """Whether the unique index on InboundMessage.message_id refused the row (SQLite names the
    column, PostgreSQL the index or constraint; both contain the table and column names)."""
    text = str(exc.orig).lower()
    return "inboundmessage" in text and "message_id" in text


def transient(exc: DBAPIError) -> bool:
    """A database error that another attempt may not meet: a lock, a lost connection, a
    serialization failure or deadlock."""
    if exc.connection_invalidated:
        return True
    text = str(exc.orig).lower()
    # SQLite's own lock messages only: a driver's message may quote the mail's values.
    if text.startswith(("database is locked", "database table is locked", "database is busy")):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or ""
    return any(str(sqlstate).startswith(code) for code in _TRANSIENT_SQLSTATES)


def pause(attempt: int) -> None:
    """Wait before attempt number ``attempt`` (0 is the first: no wait)."""
    if attempt:
        time.sleep(PAUSES[min(attempt - 1, len(PAUSES) - 1)])
