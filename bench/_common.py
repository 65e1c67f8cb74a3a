"""Shared by the benchmarks: a throwaway core on a real SQLite file, a null mail gateway, tables.

Benchmarks are not tests: pytest never collects them (they live outside ``tests/`` and have no
``test_`` names). Each one builds its own temporary directory and never touches ``var/``.
"""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.mail.gateway import InboundItem
from bot.protocol import load_protocol

#: A Wednesday, 10:00 in London (GMT in November): inside working hours, not a bank holiday.
BENCH_NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def db_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'bench.sqlite3'}"


def make_core(folder: Path, *, now: datetime = BENCH_NOW, create: bool = True) -> Core:
    """A core over ``<folder>/bench.sqlite3`` with the default preset and a fixed clock."""
    folder.mkdir(parents=True, exist_ok=True)
    db = Database(db_url(folder))
    if create:
        db.create_schema()
    return Core(
        db=db, protocol=load_protocol(None), clock=FixedClock(now),
        attachments_dir=folder / "attachments",
    )


def snapshot_db(core: Core, target_folder: Path) -> None:
    """Copy the core's SQLite file (WAL checkpointed) so a second run starts from the same state."""
    core.db.engine.dispose()
    source = Path(core.db.engine.url.database or "")
    con = sqlite3.connect(source)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    target_folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target_folder / "bench.sqlite3")


class NullGateway:
    """A mailbox with nothing in it that accepts every message it is asked to send."""

    name = "bench:null"

    def __init__(self) -> None:
        self.sent = 0

    def fetch_new(self) -> Iterator[InboundItem]:
        return iter(())

    def mark_processed(self, item_id: str) -> None:
        return None

    def send(self, message: EmailMessage) -> str:
        self.sent += 1
        return str(message["Message-ID"])

    def check(self) -> list[str]:
        return []


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@dataclass
class Row:
    """One line of the combined table printed by ``python -m bench``."""

    benchmark: str
    size: str
    figure: str
    target: str
    result: str


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None) -> None:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(c))) for w, c in zip(widths, row, strict=True)]
    line = "  ".join("-" * w for w in widths)
    if title:
        print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print(line)
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def print_rows(rows: Sequence[Row], title: str | None = None) -> None:
    print_table(
        ("benchmark", "size", "figure", "target", "result"),
        [(r.benchmark, r.size, r.figure, r.target, r.result) for r in rows],
        title=title,
    )


def machine() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, " \
        f"SQLite {sqlite3.sqlite_version}"
