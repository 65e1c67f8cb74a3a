"""The instances of bench/two_instances.py: forked worker processes running the real tick on one
PostgreSQL and one Maildir, their shared fast clock, and the data a trial starts from."""

from __future__ import annotations

import logging
import os
import re
import select as selectmod
import signal
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

#: Requests go out Thu 19 Nov 2026 10:10 (due Sat 10:10); the overdue chase is due Mon 09:00.
SENT_AT = datetime(2026, 11, 19, 10, 10, tzinfo=UTC)
CHASE_AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BM = "bm@partnership.example"
ROOT = Path(__file__).resolve().parent.parent


# --- the worker: one instance --------------------------------------------------------------------


#: In a trial the instances' clock runs this many times faster than the wall clock from CHASE_AT,
#: so a dead instance's mailbox lease (one 60 s tick interval) lapses within a second.
SPEED = 60


class TrialClock:
    """Shared by every instance of a trial: CHASE_AT at ``started`` (wall time), then SPEED x."""

    def __init__(self, started: float) -> None:
        self.started = started

    def now(self) -> datetime:
        return CHASE_AT + timedelta(seconds=(time.time() - self.started) * SPEED)


def worker(url: str, maildir: str, mode: str, started: float) -> None:
    """The instance's process: ``loop`` ticks until killed; ``steps`` takes due steps once."""
    from bot.chasers import chase_overdue
    from bot.mail.maildir import MaildirGateway
    from schedules.sweep import tick

    core = bench_core(url, CHASE_AT)
    if mode == "loop":
        core.clock = TrialClock(started)
    gateway = MaildirGateway(Path(maildir))
    if mode == "steps":  # a running instance has its connections and statements ready
        core.clock.set(SENT_AT)
        chase_overdue(core)
        core.clock.set(CHASE_AT)
    print("ready", flush=True)
    if mode == "steps":
        sys.stdin.readline()  # "go"
        t0 = time.perf_counter()
        steps = chase_overdue(core).steps
        print(f"steps {steps} {time.perf_counter() - t0:.3f}", flush=True)
        return
    while True:
        report = tick(core, gateway, lease_for=timedelta(seconds=60))
        busy = report.steps or report.delivery.sent or report.received
        print("busy" if busy else "idle", flush=True)
        time.sleep(0.02)


def bench_core(url: str, now: datetime):  # type: ignore[no-untyped-def]
    from bench._common import bench_kek
    from bot.clock import FixedClock
    from bot.core import Core
    from bot.db import Database
    from bot.protocol import load_protocol

    return Core(db=Database(url, kek=bench_kek()), protocol=load_protocol(None), clock=FixedClock(now),
                attachments_dir=Path(tempfile.gettempdir()) / "review-bot-bench-attachments")


# --- seeding ---------------------------------------------------------------------------------


def seed(url: str, cases: int) -> None:
    """``cases`` notified cases, each with one information gathering request to the police."""
    from bot import agency_requests as ar
    from bot.cases import Referral, accept, open_case, record_sin_submitted

    core = bench_core(url, SENT_AT)
    core.db.create_schema()
    with core.transaction() as s:
        for _ in range(cases):
            case = open_case(s, core, Referral(
                referring_agency="la-csc", incident_date=date(2026, 11, 12),
                la_aware_date=date(2026, 11, 13), outcome="death", abuse_neglect="yes",
                legal_status="cp-plan", agencies_involved=["police"]), actor=BM, source="cli")
            accept(s, core, case, actor=BM)
            record_sin_submitted(s, core, case, at=None, actor=BM)
            ar.send_requests(s, core, case, kind="info-gathering", agencies=["police"], actor=BM)
    core.db.engine.dispose()


def drop_referrals(maildir: Path, count: int) -> list[str]:
    """``count`` referral emails, each with its own Message-ID, in the shared inbox."""
    sys.path.insert(0, str(ROOT))
    from tests.support.eml.build import load

    raw = load("referral")
    new = maildir / "inbox" / "new"
    new.mkdir(parents=True, exist_ok=True)
    ids = []
    for n in range(count):
        message_id = f"<bench-{uuid.uuid4().hex}@borough.example>"
        body = re.sub(rb"(?im)^Message-ID:[^\r\n]*", f"Message-ID: {message_id}".encode(), raw, count=1)
        (new / f"{n}.referral").write_bytes(body)
        ids.append(message_id)
    return ids


class Worker:
    """One instance in its own process, forked from this one (so it starts in milliseconds, with
    the bot already imported) and killed with SIGKILL: a real process death, connections and all.
    It talks one line per tick on a pipe."""

    def __init__(self, url: str, maildir: Path, mode: str = "loop", started: float = 0.0) -> None:
        out_r, out_w = os.pipe()
        in_r, in_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                os.close(out_r)
                os.close(in_w)
                os.dup2(out_w, 1)
                os.dup2(in_r, 0)
                os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
                sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - lives as long as the child
                sys.stdin = open(0, closefd=False)  # noqa: SIM115
                logging.disable(logging.CRITICAL)
                worker(url, str(maildir), mode, started)
            finally:
                os._exit(0)
        os.close(out_w)
        os.close(in_r)
        self.pid, self.out, self.stdin = pid, out_r, in_w
        self.buffer = b""
        self.idle_ticks = 0
        self.dead = False

    def line(self, timeout: float) -> str | None:
        """The next line it wrote, None if none within ``timeout``, "" once it has gone."""
        end = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            ready, _, _ = selectmod.select([self.out], [], [], max(0.0, end - time.monotonic()))
            if not ready:
                return None
            chunk = os.read(self.out, 65536)
            if not chunk:
                return ""
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode().strip()

    def say(self, text: str) -> None:
        os.write(self.stdin, text.encode() + b"\n")

    def wait_ready(self) -> None:
        while self.line(60) not in ("ready", None, ""):
            pass

    def drain(self) -> None:
        """Read what it has said so far; count the idle ticks in a row."""
        while (line := self.line(0)) is not None:
            if line == "":
                return
            self.idle_ticks = self.idle_ticks + 1 if line == "idle" else 0

    def kill(self) -> None:
        if not self.dead:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            os.close(self.out)
            os.close(self.stdin)
            self.dead = True
