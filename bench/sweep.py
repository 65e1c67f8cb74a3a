"""The cost of a tick: it must follow what is due, not what exists.

Issue target: with 10,000 open cases and 100,000 requests of which none is due, one tick takes
50 ms or less on SQLite and 5 ms or less on PostgreSQL (issue 10). Also reported: the tick when
1,000 chasers are due. Both databases run in one go, side by side (bench/_common.py,
``databases``). Run with ``python -m bench.sweep [--db=sqlite|postgresql] [--large-only]``.

Setup (not timed; bench/sweep_rows.py): rows are bulk-inserted with SQLAlchemy Core, mirroring
what the services create (going through the services would take minutes at this size):

* each case at information gathering with its frozen ``terms`` (``protocol.terms()``), its
  notification clock met and its rapid review clock running;
* 10 requests per case (information gathering to all 7 agencies, chronology to 3), each with
  the outbox row of the request email (already sent) and its deadline row, whose ``step`` and
  ``next_action_at`` are computed with :func:`bot.deadlines.schedule_next` as
  :func:`bot.deadlines.open_deadline` does. Every ``next_action_at`` is in the future.

Timed: :func:`schedules.sweep.tick` with a gateway whose mailbox is empty and whose ``send``
only returns the Message-ID. That is ``poll_mailbox`` + ``chase_overdue`` + ``deliver``.

* idle: the median of 5 ticks with nothing due (checked: nothing changes between runs);
* after ANALYZE (risk check): the idle tick again once the database has table statistics, as
  SQLite would after ``ANALYZE`` or ``PRAGMA optimize`` (the bot runs neither today) and
  PostgreSQL does by itself (autovacuum's analyze).
* 1,000 due: 1,000 request deadlines are made due (half a reminder, step 0; half an overdue
  chase, step 1) by an untimed UPDATE, then a single tick is timed (it consumes the work). It
  must add exactly 1,000 outbox rows, and a second tick right after must take no step and add
  no row.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from bench._common import (
    BenchDatabase,
    NullGateway,
    Row,
    databases,
    make_core,
    median,
    print_rows,
    print_table,
)
from bench.sweep_rows import make_due, populate
from bot.core import Core
from bot.models import Deadline, OutboxMessage
from schedules.sweep import tick

#: Idle tick targets per database (issue 10: PostgreSQL, the production database, <= 5 ms).
TARGET_IDLE_MS = {"SQLite": 50.0, "PostgreSQL": 5.0}
IDLE_RUNS = 5
N_DUE = 1_000
#: (cases, requests): the small size shows how the cost scales with what exists.
SIZES = [(1_000, 10_000), (10_000, 100_000)]


def _state(core: Core) -> tuple[int, int, int]:
    """(outbox rows, unsent outbox rows, sum of deadline steps): changes if a tick did anything."""
    with core.db.session() as session:
        total = session.exec(select(func.count()).select_from(OutboxMessage)).one()
        unsent = session.exec(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
        ).one()
        steps = session.exec(select(func.coalesce(func.sum(Deadline.step), 0))).one()
    return total, unsent, steps


def _timed_tick(core: Core, gateway: NullGateway) -> tuple[float, Any]:
    t0 = time.perf_counter()
    report = tick(core, gateway)
    return (time.perf_counter() - t0) * 1000, report


@dataclass
class SizeResult:
    cases: int
    requests: int
    setup_s: float
    idle_ms: list[float]
    idle_unchanged: bool
    due_ms: float
    due_steps: int
    due_sent: int
    due_new_rows: int
    second_ms: float
    second_steps: int
    second_new_rows: int
    second_sent: int
    analyzed_idle_ms: list[float]
    database: str = "SQLite"

    @property
    def size(self) -> str:
        return f"{self.cases:,} cases / {self.requests:,} requests"

    @property
    def target(self) -> float:
        return TARGET_IDLE_MS[self.database]

    @property
    def idle(self) -> float:
        return median(self.idle_ms)

    @property
    def due_ok(self) -> bool:
        return (self.due_steps == N_DUE and self.due_new_rows == N_DUE and self.second_steps == 0
                and self.second_new_rows == 0)


def run_size(n_cases: int, verbose: bool = True, database: BenchDatabase | None = None) -> SizeResult:
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        core = make_core(Path(tmp), url=database.new(Path(tmp)) if database else None)
        label = database.label if database else "SQLite"
        t0 = time.perf_counter()
        n_requests = populate(core, n_cases)
        setup_s = time.perf_counter() - t0
        if verbose:
            print(f"setup ({label}): {n_cases:,} cases, {n_requests:,} requests bulk-inserted in "
                  f"{setup_s:.1f} s")
        gateway = NullGateway()
        _timed_tick(core, gateway)  # warm-up: imports, statement cache, connection pool
        before = _state(core)
        idle: list[float] = []
        quiet = True
        for _ in range(IDLE_RUNS):
            ms, report = _timed_tick(core, gateway)
            idle.append(ms)
            quiet = quiet and report.steps == 0 and report.delivery.sent == 0 and not report.received
        unchanged = quiet and _state(core) == before and gateway.sent == 0

        make_due(core, N_DUE)
        rows_before = _state(core)[0]
        due_ms, report = _timed_tick(core, gateway)
        rows_after = _state(core)[0]
        second_ms, second = _timed_tick(core, gateway)
        rows_second = _state(core)[0]
        # Risk check: once SQLite has statistics (ANALYZE, or PRAGMA optimize as SQLite advises)
        # the planner may choose differently. Nothing is due again here, so the tick is idle.
        with core.db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
        core.db.engine.dispose()  # statistics are read when a connection opens
        _timed_tick(core, gateway)
        analyzed = [_timed_tick(core, gateway)[0] for _ in range(IDLE_RUNS)]
        core.db.engine.dispose()
    return SizeResult(
        cases=n_cases, requests=n_requests, setup_s=setup_s, idle_ms=idle, idle_unchanged=unchanged,
        due_ms=due_ms, due_steps=report.steps, due_sent=report.delivery.sent,
        due_new_rows=rows_after - rows_before, second_ms=second_ms, second_steps=second.steps,
        second_new_rows=rows_second - rows_after, second_sent=second.delivery.sent,
        analyzed_idle_ms=analyzed, database=label,
    )


def rows_for(results: list[SizeResult]) -> list[Row]:
    rows: list[Row] = []
    for r in results:
        rows.append(Row(
            f"sweep: idle tick (median of 5) [{r.database}]", r.size,
            f"{r.idle:.1f} ms (min {min(r.idle_ms):.1f}, max {max(r.idle_ms):.1f})",
            f"<= {r.target:.0f} ms",
            ("PASS" if r.idle <= r.target else "FAIL")
            + ("" if r.idle_unchanged else " (state CHANGED between runs)"),
        ))
        rows.append(Row(
            f"sweep: tick with {N_DUE:,} due [{r.database}]", r.size,
            f"{r.due_ms:,.0f} ms ({r.due_steps / (r.due_ms / 1000):,.0f} steps/s; sent {r.due_sent})",
            "report", "checks ok" if r.due_ok else "CHECK FAILED",
        ))
    for r in results:
        analyzed = median(r.analyzed_idle_ms)
        rows.append(Row(
            f"sweep: idle tick after ANALYZE (risk) [{r.database}]", r.size,
            f"{analyzed:.1f} ms (min {min(r.analyzed_idle_ms):.1f}, max {max(r.analyzed_idle_ms):.1f})",
            f"<= {r.target:.0f} ms", "PASS" if analyzed <= r.target else "FAIL",
        ))
    for name in dict.fromkeys(r.database for r in results):
        mine = [r for r in results if r.database == name]
        if len(mine) < 2:
            continue
        small, large = mine[0], mine[-1]
        ratio = large.idle / small.idle
        rows.append(Row(
            f"sweep: idle cost vs size [{name}]", f"x{large.requests / small.requests:.0f} rows",
            f"x{ratio:.2f} time ({small.idle:.1f} -> {large.idle:.1f} ms)",
            "flat (follows what is due)", "PASS" if ratio < 2 else "FAIL",
        ))
    return rows


def run(verbose: bool = True, sizes: list[tuple[int, int]] | None = None) -> list[Row]:
    with databases() as dbs:
        if verbose:
            print("databases: " + "; ".join(d.detail for d in dbs))
        results = [run_size(cases, verbose, db) for db in dbs for cases, _requests in (sizes or SIZES)]
    if verbose:
        print_table(
            ("database", "size", "idle runs ms", "idle median", "state", f"{N_DUE} due ms", "steps/s",
             "outbox +rows", "sent", "2nd tick ms", "2nd: steps / +rows / sent", "idle after ANALYZE"),
            [
                (
                    r.database, r.size, " ".join(f"{x:.1f}" for x in r.idle_ms), f"{r.idle:.1f}",
                    "unchanged" if r.idle_unchanged else "CHANGED", f"{r.due_ms:,.0f}",
                    f"{r.due_steps / (r.due_ms / 1000):,.0f}", str(r.due_new_rows), str(r.due_sent),
                    f"{r.second_ms:,.0f}", f"{r.second_steps} / {r.second_new_rows} / {r.second_sent}",
                    f"{median(r.analyzed_idle_ms):.1f}",
                )
                for r in results
            ],
            title="Sweep tick",
        )
        print(
            "check: the due tick must take 1,000 steps and add 1,000 outbox rows; the second "
            "tick must take 0 steps and add 0 rows. 'sent' is capped by deliver(limit=500)."
        )
    return rows_for(results)


def main() -> None:
    sizes = SIZES
    if "--large-only" in sys.argv:
        sizes = SIZES[-1:]
    print_rows(run(sizes=sizes), title="Summary")


if __name__ == "__main__":
    main()
