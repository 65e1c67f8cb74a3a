"""Shared by the benchmarks: throwaway cores on SQLite and PostgreSQL, a null mail gateway, tables.

Benchmarks are not tests: pytest never collects them (they live outside ``tests/`` and have no
``test_`` names). Each one builds its own temporary directory and never touches ``var/``.

Databases (:func:`databases`): SQLite files, and PostgreSQL databases on the server in ``PG_URL``
(a role allowed to CREATE DATABASE; databases named ``bench_*`` are made and dropped) or, without
it, on a throwaway server from tests/support/postgres.py with fsync on. Comparable guarantees:
the bot's SQLite runs WAL with synchronous=NORMAL, which does not sync at each commit (a crash of
the machine may lose the last commits, never corrupt); PostgreSQL's match is
``synchronous_commit = off`` (fsync stays on), set on each bench database and printed with the
figures. ``--db=sqlite`` or ``--db=postgresql`` runs one only; ``--pg-sync`` keeps PostgreSQL's
synchronous commit (a WAL flush per commit) to show what that costs.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import platform
import shutil
import sqlite3
import statistics
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from bot.at_rest import generate_kek, kek_text, parse_kek
from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.mail.gateway import InboundItem
from bot.protocol import load_protocol

#: A Wednesday, 10:00 in London (GMT in November): inside working hours, not a bank holiday.
BENCH_NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


@functools.cache
def bench_kek() -> bytes:
    """One generated key-encryption key per benchmark run (docs/encryption.md): every database a
    benchmark makes seals with it, as the bot's does with DATA_KEY; never written to a file. The
    instances a benchmark starts as processes inherit it through the environment."""
    if not os.environ.get(BENCH_KEY):
        os.environ[BENCH_KEY] = kek_text(generate_kek())
    return parse_kek(os.environ[BENCH_KEY], setting=BENCH_KEY)


BENCH_KEY = "REVIEW_BOT_BENCH_DATA_KEY"


def db_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'bench.sqlite3'}"


def make_core(folder: Path, *, now: datetime = BENCH_NOW, create: bool = True,
              url: str | None = None) -> Core:
    """A core over ``url`` (default ``<folder>/bench.sqlite3``), the default preset, a fixed clock."""
    folder.mkdir(parents=True, exist_ok=True)
    db = Database(url or db_url(folder), kek=bench_kek())
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


def sync_sequences(core: Core) -> None:
    """After bulk inserts with explicit ids, PostgreSQL's id sequences still start at 1: move them
    past the rows, as the services' own inserts would have (SQLite needs nothing)."""
    from sqlmodel import SQLModel

    engine = core.db.engine
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if "id" in table.c and table.c.id.autoincrement is not False and table.c.id.primary_key:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                    f"COALESCE((SELECT max(id) FROM \"{table.name}\"), 0) + 1, false)"
                )


@dataclass
class BenchDatabase:
    """One database system the benchmarks run on: fresh databases and copies of them."""

    label: str  # SQLite | PostgreSQL
    new: Callable[[Path], str]  # a fresh empty database for this folder -> its URL
    #: A copy of ``core``'s database (its engine is disposed first) for ``folder`` -> its URL.
    copy: Callable[[Core, Path], str]
    detail: str = ""
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    #: Done with ``core``'s database: its engine is disposed and, on a server, the database is
    #: dropped and the server checkpointed, so that the next timed run does not share the machine
    #: with the finished run's aftermath (autovacuum, dirty buffers written out).
    done: Callable[[Core], None] = lambda core: core.db.engine.dispose()


def _sqlite() -> BenchDatabase:
    def copy(core: Core, folder: Path) -> str:
        snapshot_db(core, folder)
        return db_url(folder)

    return BenchDatabase("SQLite", db_url, copy, f"SQLite {sqlite3.sqlite_version}, WAL, synchronous=NORMAL")


@contextmanager
def _postgresql() -> Iterator[BenchDatabase]:
    import psycopg
    from sqlalchemy.engine import make_url

    server = None
    given = os.environ.get("PG_URL")
    if given:
        admin = make_url(given)
    else:
        from tests.support.postgres import PostgresServer

        server = PostgresServer.start(durable=True)
        admin = make_url(server.url())
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    made: list[str] = []
    numbers = itertools.count(1)
    sync = "--pg-sync" in sys.argv

    def execute(sql: str) -> Any:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            cur = conn.execute(sql)  # type: ignore[arg-type]
            return cur.fetchone() if cur.description else None

    def create(template: str | None) -> str:
        name = f"bench_{os.getpid()}_{next(numbers)}"
        execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        made.append(name)
        if not sync:
            execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        return admin.set(database=name).render_as_string(hide_password=False)

    def copy(core: Core, _folder: Path) -> str:
        core.db.engine.dispose()
        # Settle the bulk set-up first, as autovacuum would in service (SQLite needs nothing),
        # so the timed run does not share the machine with it.
        with psycopg.connect(core.db.engine.url.set(drivername="postgresql").render_as_string(
                hide_password=False), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            with contextlib.suppress(psycopg.Error):  # needs pg_checkpoint with PG_URL
                conn.execute("CHECKPOINT")
        return create(core.db.engine.url.database)

    def done(core: Core) -> None:
        core.db.engine.dispose()
        name = core.db.engine.url.database
        if name in made:
            execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            made.remove(name)
            with contextlib.suppress(psycopg.Error):  # needs pg_checkpoint with PG_URL
                execute("CHECKPOINT")

    try:
        version = execute("SHOW server_version")[0]
        where = ("PG_URL" if given else "throwaway server, fsync on") + (
            ", synchronous_commit on" if sync else ", synchronous_commit off")
        yield BenchDatabase("PostgreSQL", lambda _folder: create(None), copy,
                            f"PostgreSQL {version} ({where})", done=done)
    finally:
        for name in made:
            execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if server is not None:
            server.stop()


def chosen_databases() -> list[str]:
    for arg in sys.argv[1:]:
        if arg.startswith("--db="):
            return [d.strip() for d in arg.removeprefix("--db=").split(",") if d.strip()]
    return ["sqlite", "postgresql"]


@contextmanager
def databases(which: Sequence[str] | None = None) -> Iterator[list[BenchDatabase]]:
    """The database systems to run on, SQLite first; PostgreSQL is started (or reached) once."""
    which = list(which or chosen_databases())
    out: list[BenchDatabase] = []
    with contextlib.ExitStack() as stack:
        for name in which:
            if name == "sqlite":
                out.append(_sqlite())
            elif name == "postgresql":
                out.append(stack.enter_context(_postgresql()))
            else:
                raise SystemExit(f"--db: unknown database {name!r} (sqlite, postgresql)")
        yield out


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
