"""The one clock. Every "now" in the bot comes from here (architecture rule 6).

Production uses :class:`SystemClock`; ``review-bot tick --now`` and the tests use
:class:`FixedClock`. Times are always timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The wall clock. The only place the bot reads it."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stays where it is told; tests and ``tick --now`` move it by hand."""

    def __init__(self, at: datetime) -> None:
        self._at = as_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = as_utc(at)

    def advance(self, delta: timedelta) -> None:
        self._at += delta


def as_utc(at: datetime) -> datetime:
    """Normalise to aware UTC. Naive values are taken as UTC (that is how the database stores them)."""
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at.astimezone(UTC)
