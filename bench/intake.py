"""Intake throughput: 2,000 realistic messages through the whole inbound pipeline, on SQLite and
on PostgreSQL (issue 10: PostgreSQL within 20 % of SQLite's rate).

Issue target: at least 300 messages/s. Run with ``python -m bench.intake`` (``--phases``: wall
time per pipeline phase, with and without attachment; ``--profile``: the same run under cProfile).

Setup (not timed; the corpus is bench/intake_corpus.py): a fresh database, a few hundred cases
opened, accepted and notified through the services, and information gathering requests sent to
3 or 4 agencies on each. The requests' Message-IDs are then read back so that the generated
agency returns reply to real requests. The database is copied so the Maildir run starts from
exactly the same state.

Timed:

1. ``ingest(core, raw, mailbox="bench")`` for every message, one at a time (per-message times
   give p50/p99);
2. the same messages written (untimed) into a Maildir ``inbox/new`` and then
   ``schedules.sweep.poll_mailbox`` over a :class:`~bot.mail.maildir.MaildirGateway`: fetch,
   ingest in batches (decision 0018) and mark processed, as a tick does. Its p50/p99 are the time
   from a message being read to its being moved, which includes the rest of its batch.
"""

from __future__ import annotations

import contextlib
import cProfile
import functools
import importlib
import pstats
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._common import (
    BENCH_NOW,
    BenchDatabase,
    Row,
    databases,
    make_core,
    percentile,
    print_rows,
    print_table,
)
from bench.intake_corpus import EXPECTED, N_CASES, generate, populate
from bench.intake_corpus import N_MESSAGES as N_MESSAGES  # re-exported: names that lived here
from bench.intake_corpus import SentRequest as SentRequest
from bot.core import Core
from bot.mail.gateway import InboundItem
from bot.mail.maildir import MaildirGateway
from handlers.mail.intake import ingest
from schedules.sweep import TickReport, poll_mailbox

TARGET_PER_S = 300.0
#: Issue 10: PostgreSQL's intake rate within 20 % of SQLite's over the same corpus.
PG_WITHIN = 0.20
# --- the runs ------------------------------------------------------------------------------


class _TimedMaildir(MaildirGateway):
    """Records when each message is read and when it is marked processed: how long a message waits
    from being read to being moved, which includes the rest of its batch (decision 0018)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, now=lambda: BENCH_NOW)
        self.read_at: dict[str, float] = {}
        self.waits: list[float] = []

    def fetch_new(self) -> Iterator[InboundItem]:
        for item in super().fetch_new():
            self.read_at[item.item_id] = time.perf_counter()
            yield item

    def mark_processed(self, item_id: str) -> None:
        super().mark_processed(item_id)
        self.waits.append((time.perf_counter() - self.read_at[item_id]) * 1000)


@dataclass
class RunResult:
    label: str
    messages: int
    seconds: float
    per_message_ms: list[float]
    classes: Counter[str]
    by_kind: dict[str, list[float]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def row(self, size: str) -> Row:
        ok = self.rate >= TARGET_PER_S
        p50 = percentile(self.per_message_ms, 50)
        p99 = percentile(self.per_message_ms, 99)
        return Row(
            f"intake ({self.label})", size,
            f"{self.rate:,.0f} msg/s ({self.seconds:.2f} s; p50 {p50:.2f} ms, p99 {p99:.2f} ms)",
            f">= {TARGET_PER_S:.0f} msg/s", "PASS" if ok else "FAIL",
        )


def _has_attachment(raw: bytes) -> bool:
    return b"Content-Disposition: attachment" in raw


#: What ``--phases`` times: (module, attribute) pairs, looked up where the intake calls them.
PHASES = (
    ("handlers.mail.prepare", "parse"),
    ("bot.inbound", "record_inbound"),
    ("handlers.mail.intake", "route"),
    ("bot.usecases.mail", "store_attachments"),
    ("bot.agency_requests", "request_for_message_ids"),
    ("bot.agency_requests", "record_return"),
    ("bot.info_gathering", "advance_if_all_in"),
    ("sqlalchemy.orm", "Session.commit"),
)


class _PhaseTimer:
    """Wraps the functions in :data:`PHASES` with ``perf_counter`` while the run lasts (about a
    microsecond a call): wall time per phase, split by messages with and without attachment.
    Nested phases overlap (``route`` contains ``store_attachments``, ``record_return``...)."""

    def __init__(self) -> None:
        self.attachment = False
        self.seconds: dict[tuple[str, bool], float] = {}
        self.calls: Counter[tuple[str, bool]] = Counter()
        self._undo: list[tuple[object, str, object]] = []

    def __enter__(self) -> _PhaseTimer:
        for module_name, path in PHASES:
            owner: object = importlib.import_module(module_name)
            *outer, name = path.split(".")
            for part in outer:
                owner = getattr(owner, part)
            original = getattr(owner, name)
            self._undo.append((owner, name, original))
            setattr(owner, name, self._timed(path, original))
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)

    def _timed(self, label: str, func: Any) -> Any:
        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                key = (label, self.attachment)
                self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - t0
                self.calls[key] += 1

        return timed

    def print(self, messages: int, with_attachment: int) -> None:
        counts = {False: messages - with_attachment, True: with_attachment}
        rows = []
        for _module, label in PHASES:
            cells = [label, f"{sum(self.seconds.get((label, a), 0.0) for a in counts):.2f}"]
            for attachment, n in counts.items():
                seconds = self.seconds.get((label, attachment), 0.0)
                cells.append(f"{seconds / n * 1000:.3f}" if n else "-")
            rows.append(tuple(cells))
        print_table(
            ("phase", "total s", "ms/msg without attachment", "ms/msg with attachment"), rows,
            title="Where the ingest time goes, by phase (wall time, overlapping; --phases)",
        )


def run_direct(
    core: Core, messages: list[tuple[str, bytes]], profile: bool = False, phases: bool = False
) -> RunResult:
    times: list[float] = []
    classes: Counter[str] = Counter()
    by_kind: dict[str, list[float]] = {}
    profiler = cProfile.Profile() if profile else None
    timer = _PhaseTimer() if phases else None
    if profiler:
        profiler.enable()
    start = time.perf_counter()
    with timer or contextlib.nullcontext():
        for kind, raw in messages:
            if timer:
                timer.attachment = _has_attachment(raw)
            t0 = time.perf_counter()
            result = ingest(core, raw, mailbox="bench")
            ms = (time.perf_counter() - t0) * 1000
            times.append(ms)
            classes[result.classification] += 1
            label = f"{kind}{' +attachment' if _has_attachment(raw) else ''}"
            by_kind.setdefault(label, []).append(ms)
    total = time.perf_counter() - start
    if timer:
        timer.print(len(messages), sum(1 for _k, raw in messages if _has_attachment(raw)))
    if profiler:
        profiler.disable()
        stats = pstats.Stats(profiler)
        print("\ncProfile of the ingest run (times inflated by the profiler; read the shares)")
        stats.sort_stats("cumulative").print_stats(r"(handlers|bot|email|sqlalchemy/orm/session)", 40)
        stats.sort_stats("tottime").print_stats(25)
    return RunResult("ingest", len(messages), total, times, classes, by_kind)


def write_maildir(root: Path, messages: list[tuple[str, bytes]]) -> None:
    new = root / "inbox" / "new"
    new.mkdir(parents=True, exist_ok=True)
    for i, (_kind, raw) in enumerate(messages):
        (new / f"1763460000.M{i:06d}P1.bench").write_bytes(raw)


def run_maildir(core: Core, root: Path, n: int) -> RunResult:
    gateway = _TimedMaildir(root)
    report = TickReport()
    start = time.perf_counter()
    poll_mailbox(core, gateway, report)
    total = time.perf_counter() - start
    if report.mailbox_error:
        raise SystemExit(f"maildir run failed: {report.mailbox_error}")
    times = gateway.waits
    classes = Counter(r.classification for r in report.received)
    if len(report.received) != n:
        raise SystemExit(f"maildir run ingested {len(report.received)} of {n} messages")
    return RunResult("Maildir poll_mailbox", n, total, times, classes)


def expected_classes(messages: list[tuple[str, bytes]]) -> Counter[str]:
    return Counter(EXPECTED[kind] for kind, _raw in messages)


@dataclass
class _Prepared:
    """One database ready for the timed runs: the populated core, its copy, the messages."""

    database: BenchDatabase
    base: Path
    core: Core
    maildir_url: str
    messages: list[tuple[str, bytes]]


def _prepare(database: BenchDatabase, base: Path, verbose: bool) -> _Prepared:
    t0 = time.perf_counter()
    core = make_core(base / "direct", url=database.new(base / "direct"))
    requests = populate(core)
    maildir_url = database.copy(core, base / "maildir")
    setup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    messages = generate(requests)
    gen_s = time.perf_counter() - t0
    if verbose:
        sizes = [len(raw) for _k, raw in messages]
        n_att = sum(1 for _k, raw in messages if _has_attachment(raw))
        print(
            f"setup ({database.label}): {N_CASES} cases, {len(requests)} requests in {setup_s:.1f} s; "
            f"generated {len(messages)} messages in {gen_s:.1f} s ({sum(sizes) / 1e6:.1f} MB, "
            f"median {percentile(sizes, 50) / 1000:.1f} KB, {n_att} with an attachment)"
        )
    return _Prepared(database, base, core, maildir_url, messages)


def _via_maildir(p: _Prepared) -> RunResult:
    maildir_core = make_core(p.base / "maildir", create=False, url=p.maildir_url)
    root = p.base / "maildir" / "mail"
    write_maildir(root, p.messages)
    try:
        return run_maildir(maildir_core, root, len(p.messages))
    finally:
        p.database.done(maildir_core)


def run(verbose: bool = True, profile: bool = False, phases: bool = False) -> list[Row]:
    """The intake on each database (SQLite, PostgreSQL), then PostgreSQL's rate against SQLite's.

    Every database is set up first; then the direct runs follow one another, then the Maildir
    runs, so each pair is timed close together on a shared machine (a change of load between
    two runs a minute apart moved the ratio by a factor of two)."""
    rows: list[Row] = []
    with databases() as dbs, tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        if verbose:
            print("databases: " + "; ".join(d.detail for d in dbs))
        prepared = [_prepare(db, Path(tmp) / db.label, verbose) for db in dbs]
        directs = []
        for p in prepared:
            directs.append(run_direct(p.core, p.messages, profile=profile, phases=phases))
            p.database.done(p.core)
        maildirs = [_via_maildir(p) for p in prepared]
    for p, direct, via_maildir in zip(prepared, directs, maildirs, strict=True):
        rows += _report(p, direct, via_maildir, verbose)
    labels = [p.database.label for p in prepared]
    if "SQLite" in labels and "PostgreSQL" in labels:
        for name, results in (("ingest", directs), ("Maildir poll_mailbox", maildirs)):
            rate = {label: r.rate for label, r in zip(labels, results, strict=True)}
            ratio = rate["PostgreSQL"] / rate["SQLite"]
            rows.append(Row(
                f"intake ({name}): PostgreSQL vs SQLite", "same corpus",
                f"{ratio:.0%} of SQLite's rate ({rate['PostgreSQL']:,.0f} vs {rate['SQLite']:,.0f} msg/s)",
                f">= {1 - PG_WITHIN:.0%}", "PASS" if ratio >= 1 - PG_WITHIN else "FAIL",
            ))
    return rows


def _report(p: _Prepared, direct: RunResult, via_maildir: RunResult, verbose: bool) -> list[Row]:
    database, messages = p.database, p.messages
    sizes = [len(raw) for _k, raw in messages]
    n_att = sum(1 for _k, raw in messages if _has_attachment(raw))
    expected = expected_classes(messages)
    size = f"{len(messages):,} msgs ({sum(sizes) / 1e6:.0f} MB, {n_att} attachments)"
    direct.label = f"ingest, {database.label}"
    via_maildir.label = f"Maildir poll_mailbox, {database.label}"
    rows = [direct.row(size), via_maildir.row(size)]
    if verbose:
        names = sorted(set(expected) | set(direct.classes) | set(via_maildir.classes))
        print_table(
            ("classification", "expected", "ingest", "maildir"),
            [(c, str(expected[c]), str(direct.classes[c]), str(via_maildir.classes[c])) for c in names],
            title="Classification counts",
        )
        print_table(
            ("kind", "messages", "total s", "share", "mean ms", "p50 ms", "p99 ms"),
            [
                (
                    k, str(len(v)), f"{sum(v) / 1000:.2f}", f"{sum(v) / 10 / direct.seconds:.0f}%",
                    f"{sum(v) / len(v):.2f}", f"{percentile(v, 50):.2f}", f"{percentile(v, 99):.2f}",
                )
                for k, v in sorted(direct.by_kind.items())
            ],
            title="Where the ingest time goes, by kind of message",
        )
        print_table(
            ("run", "messages", "total s", "msg/s", "p50 ms", "p99 ms", "target", "result", "check"),
            [
                (
                    r.label, str(r.messages), f"{r.seconds:.2f}", f"{r.rate:,.0f}",
                    f"{percentile(r.per_message_ms, 50):.2f}", f"{percentile(r.per_message_ms, 99):.2f}",
                    f">= {TARGET_PER_S:.0f}/s", "PASS" if r.rate >= TARGET_PER_S else "FAIL",
                    "classes ok" if r.classes == expected else "classes DIFFER",
                )
                for r in (direct, via_maildir)
            ],
            title=f"Intake throughput ({database.label})",
        )
    for r in (direct, via_maildir):
        if r.classes != expected:
            rows.append(Row(f"intake ({r.label}) check", size, "classification counts differ "
                            "from the generated mix", "as generated", "FAIL"))
    return rows




def main() -> None:
    rows = run(profile="--profile" in sys.argv, phases="--phases" in sys.argv)
    print_rows(rows, title="Summary")


if __name__ == "__main__":
    main()
