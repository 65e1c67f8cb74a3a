"""Liveness and readiness of one running bot, as named checks (issue 10 item 4).

The HTTP door is :mod:`handlers.health`; this module only says what is true. Readiness is a list
of ``(name, check)`` pairs so that a new check is one line (the schema check joins at merge).
A check returns facts an operator may see on an open port: states and times, never a message
text, an address or a database URL.

The tick times are kept in memory: they describe this process (a restarted process has not
ticked yet, and is rightly not ready until its first tick finishes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text

from bot.core import Core

#: A tick still running after this long is stuck: liveness fails so a supervisor restarts us.
STUCK_TICK = timedelta(minutes=30)


@dataclass
class CheckResult:
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


Check = Callable[[], CheckResult]


@dataclass
class TickTimes:
    """When the last tick started, finished, and last finished without an error (thread-safe;
    written by the scheduler thread)."""

    started_at: datetime | None = None
    finished_at: datetime | None = None
    succeeded_at: datetime | None = None
    running: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def started(self, at: datetime) -> None:
        with self._lock:
            self.started_at, self.running = at, True

    def finished(self, at: datetime, *, ok: bool) -> None:
        with self._lock:
            self.finished_at, self.running = at, False
            if ok:
                self.succeeded_at = at


def database_reachable(core: Core) -> Check:
    def check() -> CheckResult:
        try:
            with core.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # the class name is enough; the message may hold the host
            return CheckResult(False, {"error": type(exc).__name__})
        return CheckResult(True)

    return check


def schema_current(core: Core) -> Check:
    """Ready only at the code's schema head: an instance started before `db upgrade` finished, or
    one older than the database, must not take work (decision 0014)."""

    def check() -> CheckResult:
        from bot.schema import schema_state

        try:
            with core.db.engine.connect() as conn:
                state = schema_state(conn)
        except Exception as exc:
            return CheckResult(False, {"error": type(exc).__name__})
        return CheckResult(state.kind == "current", {"schema": state.revision or state.kind,
                                                      "head": state.head})

    return check


def tick_recent(core: Core, ticks: TickTimes, tick_seconds: int) -> Check:
    """A tick finished without an error within three intervals (at least five minutes: a slow
    mailbox). A tick that raises chases nothing, so it does not count."""
    limit = max(timedelta(seconds=3 * tick_seconds), timedelta(minutes=5))

    def check() -> CheckResult:
        last, attempt = ticks.succeeded_at, ticks.finished_at
        detail: dict[str, Any] = {
            "last_tick": last.isoformat() if last else None,
            "last_attempt": attempt.isoformat() if attempt else None,
            "limit_seconds": int(limit.total_seconds()),
        }
        if last is None:
            return CheckResult(False, detail)
        age = core.clock.now() - last
        return CheckResult(age <= limit, {**detail, "age_seconds": int(age.total_seconds())})

    return check


def mailbox_state(core: Core) -> Check:
    """Not ready while the mailbox is unreachable: referrals and returns are not being read.
    The poll backs off meanwhile (bot/mailbox_health.py) and nothing is lost."""

    def check() -> CheckResult:
        health = core.mailbox
        return CheckResult(health.reachable, {
            "reachable": health.reachable, "failures": health.failures,
            "unreachable_since": health.since.isoformat() if health.since else None,
            "last_ok": health.last_ok_at.isoformat() if health.last_ok_at else None,
        })

    return check


def alive(core: Core, ticks: TickTimes) -> CheckResult:
    """Liveness: the process answers, and no tick has hung for longer than :data:`STUCK_TICK`."""
    started = ticks.started_at
    if ticks.running and started is not None and core.clock.now() - started > STUCK_TICK:
        return CheckResult(False, {"reason": "tick stuck", "tick_started": started.isoformat()})
    return CheckResult(True)


def run_checks(checks: list[tuple[str, Check]]) -> tuple[bool, dict[str, Any]]:
    """Every check, each isolated: one that raises counts as failed, the others still run."""
    results: dict[str, Any] = {}
    for name, check in checks:
        try:
            result = check()
        except Exception as exc:
            result = CheckResult(False, {"error": type(exc).__name__})
        results[name] = {"ok": result.ok, **result.detail}
    return all(r["ok"] for r in results.values()), results
