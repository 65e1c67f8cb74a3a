"""What the purge phase costs a tick (issue 13 item 2; decision 0030).

A SQLite database with CASES closed cases, each with a referral message (RAW_KB of raw bytes) and
the mail the bot sent about it, plus as many messages of no case. Printed: the phase when nothing
is due (what every tick pays), and one batch when everything is due (the most a tick does per
class). Target: the idle phase well under a tenth of the default 60 s tick (here: under 100 ms),
one full batch under 2 s. Run with ``python -m bench.retention [--cases N]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.cases import Referral, close, open_case
from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.models import InboundMessage
from bot.protocol import load_protocol
from bot.retention import purge

CLOSED = datetime(2026, 11, 16, 10, tzinfo=UTC)
RAW_KB = 50


def build(core: Core, cases: int) -> None:
    raw = b"x" * (RAW_KB * 1024)
    for n in range(cases):
        with core.transaction() as s:
            case = open_case(s, core, Referral(referring_agency="la-csc", incident_date=date(2026, 11, 12),
                                               la_aware_date=date(2026, 11, 13), outcome="death"),
                             actor="bm@partnership.example", source="cli")
            s.add(InboundMessage(message_id=f"<r{n}@x.example>", mailbox="bench", received_at=CLOSED,
                                 classification="referral", case_id=case.id, raw=raw))
            s.add(InboundMessage(message_id=f"<u{n}@x.example>", mailbox="bench", received_at=CLOSED,
                                 classification="unknown", triage_status="dismissed", raw=raw))
            close(s, core, case, reason="learning shared", actor="bm@partnership.example")


def timed(core: Core, when: datetime) -> tuple[float, dict[str, int]]:
    assert isinstance(core.clock, FixedClock)
    core.clock.set(when)
    t0 = time.perf_counter()
    done = purge(core)
    return time.perf_counter() - t0, done


def run(cases: int = 1000) -> list[tuple[str, str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        db.create_schema()
        core = Core(db=db, protocol=load_protocol(None), clock=FixedClock(CLOSED),
                    attachments_dir=Path(folder) / "att")
        build(core, cases)
        timed(core, CLOSED + timedelta(days=1))  # the first tick records every case's closure
        idle = min(timed(core, CLOSED + timedelta(days=2 + i))[0] for i in range(5))
        batch, done = timed(core, datetime(2040, 1, 1, tzinfo=UTC))
        db.engine.dispose()
    return [
        (f"purge phase, nothing due ({cases} closed cases)", f"{idle * 1000:.1f} ms",
         "ok" if idle < 0.1 else "FAIL (target < 100 ms)"),
        (f"purge phase, one batch due ({sum(done.values())} rows emptied)", f"{batch:.2f} s",
         "ok" if batch < 2 else "FAIL (target < 2 s)"),
    ]


def main() -> None:
    cases = int(sys.argv[sys.argv.index("--cases") + 1]) if "--cases" in sys.argv else 1000
    for name, figure, verdict in run(cases):
        print(f"{name:60} {figure:>10}  {verdict}")


if __name__ == "__main__":
    main()
