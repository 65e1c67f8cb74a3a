"""Idempotent doors: the same request arriving twice acts once (issue 9 item 5).

A door names each request with a key (a Slack view's id and hash, an event's ``event_id``, a
CLI ``--idempotency-key``). :func:`once` runs the action and records the key in ONE transaction:
a crash between cannot lose the record or double the action, and a concurrent duplicate fails on
the unique key and rolls its action back. A repeat gets the first request's result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.core import Core
from bot.models import DoorRequest

Result = dict[str, Any]


def seen(session: Session, key: str) -> Result | None:
    """The result of the request already recorded under ``key``, or None."""
    row = session.exec(select(DoorRequest).where(DoorRequest.key == key)).first()
    return dict(row.result or {}) if row is not None else None


def remember(session: Session, core: Core, *, key: str, surface: str, result: Result) -> None:
    """Record ``key`` in the caller's transaction (flushed now so a duplicate fails here)."""
    session.add(DoorRequest(key=key[:255], surface=surface, created_at=core.clock.now(), result=result))
    session.flush()


def once(
    core: Core, *, key: str | None, surface: str, action: Callable[[Session], Result],
) -> tuple[Result, bool]:
    """Run ``action`` once per ``key``: ``(result, True)`` the first time, ``(first result,
    False)`` for a repeat. Without a key the action simply runs. Exceptions from the action
    propagate and record nothing."""
    if not key:
        with core.transaction() as session:
            return action(session), True
    with core.transaction() as session:
        earlier = seen(session, key[:255])
        if earlier is not None:
            return earlier, False
    try:
        with core.transaction() as session:
            result = action(session)
            remember(session, core, key=key, surface=surface, result=result)
            return result, True
    except IntegrityError:
        # Another process recorded the same key first; its transaction holds the action.
        with core.transaction() as session:
            earlier = seen(session, key[:255])
        if earlier is None:
            raise
        return earlier, False
