"""Recording a send (decisions 0007 and 0013): "sent" is written only while the sender still
owns the row's claim, and a mark the database refused is kept in memory and written at the start
of the next delivery (the claim's lease keeps other instances off the row meanwhile).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy import ColumnElement, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from bot.core import Core
from bot.db import rowcount
from bot.models import OutboxMessage

log = logging.getLogger("bot.outbox")

#: A failed "mark sent" is retried this many times at once, then at the start of the next tick.
MARK_TRIES = 3

#: Rows this process sent but could not mark sent (database unreachable): (database url, row id)
#: -> (owner, sent at). Recorded at the start of the next delivery; the lease keeps others off.
_unmarked: dict[tuple[str, int], tuple[str, datetime]] = {}


def owned(row_id: int | None, owner: str) -> tuple[ColumnElement[bool], ...]:
    return (
        col(OutboxMessage.id) == row_id, col(OutboxMessage.status) == "sending",
        col(OutboxMessage.claimed_by) == owner,
    )


def mark_sent(core: Core, row_id: int, owner: str, at: datetime) -> None:
    """Record the send, only if this instance still owns the claim; retried if the database fails."""
    for attempt in range(MARK_TRIES):
        try:
            with core.db.transaction() as session:
                marked = rowcount(session.execute(
                    update(OutboxMessage).where(*owned(row_id, owner))
                    .values(status="sent", sent_at=at, last_error=None, lease_until=None)
                ))
        except SQLAlchemyError as exc:
            log.warning("outbox mark-sent failed id=%s try=%s: %s", row_id, attempt + 1, type(exc).__name__)
            time.sleep(0.1 * 2**attempt)
            continue
        if marked != 1:
            log.error(
                "outbox CLAIM LOST id=%s: sent by %s but the row is no longer its claim; another "
                "instance may send it again (is SEND_LEASE in bot/outbox.py too short for this send?)",
                row_id, owner,
            )
        return
    _unmarked[(core.db.url, row_id)] = (owner, at)
    log.error("outbox sent id=%s but could not record it; recorded on the next tick", row_id)


def record_unmarked(core: Core) -> None:
    for (url, row_id), (owner, at) in list(_unmarked.items()):
        if url != core.db.url:
            continue
        try:
            with core.db.transaction() as session:
                session.execute(
                    update(OutboxMessage).where(*owned(row_id, owner))
                    .values(status="sent", sent_at=at, last_error=None, lease_until=None)
                )
        except SQLAlchemyError:
            return  # still unreachable; the tick reports it
        del _unmarked[(url, row_id)]
