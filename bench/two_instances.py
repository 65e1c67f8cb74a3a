"""Two instances on one PostgreSQL, killed at random (issue 10 item 3; decision 0013).

``python -m bench.two_instances [--trials 50] [--cases 20] [--referrals 3] [--steps 1000]``

Each trial seeds a fresh database with ``--cases`` notified cases, each with an information
gathering request whose overdue chase is due, and drops ``--referrals`` referral emails into a
shared Maildir. Two worker processes (the real ``tick`` in a loop, each its own instance) then
share the work while the bench kills one of them with SIGKILL at a random moment and starts a
new one, twice per trial. Once they are idle, an hour later (past every claim's lease) one more
tick recovers what the dead left behind, as a surviving instance would. Then it counts:

* lost: an outbox message not in the Maildir's sent folder, a due chase step not taken, a
  referral email not recorded;
* doubled: a Message-ID twice in the sent folder, a chase step audited twice, a referral that
  opened two cases.

Both must be 0. It also times ``--steps`` due chase steps taken by two instances together
(target <= 2 s, 0 doubled). ``--database-url`` uses an existing server (the bench creates and drops
its databases there); by default it starts a throwaway one (tests/support/postgres.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import select as selectmod
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

from sqlmodel import func, select

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

    core = _core(url, CHASE_AT)
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


def _core(url: str, now: datetime):  # type: ignore[no-untyped-def]
    from bot.clock import FixedClock
    from bot.core import Core
    from bot.db import Database
    from bot.protocol import load_protocol

    return Core(db=Database(url), protocol=load_protocol(None), clock=FixedClock(now),
                attachments_dir=Path(tempfile.gettempdir()) / "review-bot-bench-attachments")


# --- seeding ---------------------------------------------------------------------------------


def seed(url: str, cases: int) -> None:
    """``cases`` notified cases, each with one information gathering request to the police."""
    from bot import agency_requests as ar
    from bot.cases import Referral, accept, open_case, record_sin_submitted

    core = _core(url, SENT_AT)
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


# --- the trial -------------------------------------------------------------------------------


@dataclass
class Outcome:
    trials: int = 0
    kills: int = 0
    lost: int = 0
    doubled: int = 0
    #: Messages the later tick sent (or recorded as sent): claimed by an instance that died.
    recovered: int = 0
    notes: list[str] = field(default_factory=list)


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


def trial(url: str, maildir: Path, *, cases: int, referrals: int, kills: int, rng: random.Random,
          outcome: Outcome) -> None:
    seed(url, cases)
    referral_ids = drop_referrals(maildir, referrals)
    started = time.time()
    workers = [Worker(url, maildir, started=started), Worker(url, maildir, started=started)]
    for w in workers:
        w.wait_ready()
    for _ in range(kills):
        time.sleep(rng.uniform(0.0, 0.4))  # somewhere in the middle of the work
        victim = rng.randrange(2)
        workers[victim].kill()
        outcome.kills += 1
        workers[victim] = Worker(url, maildir, started=started)
        workers[victim].wait_ready()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.05)
        for w in workers:
            w.drain()
        if all(w.idle_ticks >= 2 for w in workers):
            break
    for w in workers:
        w.kill()
    outcome.recovered += recover(url, maildir, time.time() - started)
    lost, doubled, notes = count(url, maildir, cases=cases, referral_ids=referral_ids)
    outcome.trials += 1
    outcome.lost += lost
    outcome.doubled += doubled
    outcome.notes += notes


def recover(url: str, maildir: Path, elapsed: float) -> int:
    """An hour later (every dead instance's claims and leases have run out), a surviving instance
    ticks until nothing is left: what it finds is what the killed ones left behind."""
    from bot.mail.maildir import MaildirGateway
    from bot.outbox import SEND_LEASE
    from schedules.sweep import tick

    core = _core(url, CHASE_AT + timedelta(seconds=elapsed * SPEED) + SEND_LEASE + timedelta(minutes=1))
    gateway = MaildirGateway(maildir)
    recovered = 0
    for _ in range(5):
        report = tick(core, gateway, lease_for=timedelta(seconds=60))
        recovered += report.delivery.sent
        if not (report.steps or report.delivery.sent or report.received):
            break
    core.db.engine.dispose()
    return recovered


def count(url: str, maildir: Path, *, cases: int, referral_ids: list[str]) -> tuple[int, int, list[str]]:
    from bot.models import Case, Deadline, Event, InboundMessage, OutboxMessage

    sent = Counter(_sent_message_ids(maildir))
    core = _core(url, CHASE_AT)
    notes: list[str] = []
    with core.db.session() as s:
        rows = list(s.exec(select(OutboxMessage)))
        chases = Counter(e.detail.get("agency", "") + str(e.case_id)
                         for e in s.exec(select(Event).where(Event.kind == "chase_sent")))
        request_deadlines = s.exec(
            select(func.count()).select_from(Deadline).where(Deadline.request_id.is_not(None))  # type: ignore[union-attr]
        ).one()
        recorded = set(s.exec(select(InboundMessage.message_id)))
        opened = s.exec(select(func.count()).select_from(Case)).one()
    core.db.engine.dispose()
    lost_mail = [r.idempotency_key for r in rows if sent[r.message_id] == 0]
    lost_steps = request_deadlines - len(chases)
    lost_inbound = [m for m in referral_ids if m not in recorded]
    doubled_mail = [m for m, n in sent.items() if n > 1]
    doubled_steps = [k for k, n in chases.items() if n > 1]
    doubled_cases = max(0, opened - cases - len(referral_ids))
    if lost_mail:
        notes.append(f"lost mail {lost_mail[:5]}")
    if lost_steps or lost_inbound:
        notes.append(f"lost steps {lost_steps}, lost inbound {len(lost_inbound)}")
    if doubled_mail or doubled_steps or doubled_cases:
        notes.append(f"doubled mail {len(doubled_mail)}, steps {doubled_steps}, cases {doubled_cases}")
    lost = len(lost_mail) + lost_steps + len(lost_inbound)
    return lost, len(doubled_mail) + len(doubled_steps) + doubled_cases, notes


def _sent_message_ids(maildir: Path) -> list[str]:
    folder = maildir / "sent"
    return [str(message_from_bytes(p.read_bytes(), policy=policy.default)["Message-ID"]).strip()
            for sub in ("new", "cur") if (folder / sub).exists() for p in (folder / sub).iterdir()]


# --- the 1,000 steps -------------------------------------------------------------------------


def due_steps(url: str, steps: int) -> tuple[float, int, int]:
    """``steps`` due chase steps taken by two instances together: (seconds, taken, doubled)."""
    from bot.models import Event

    seed(url, steps)
    _preload()
    with tempfile.TemporaryDirectory() as tmp:
        workers = [Worker(url, Path(tmp), "steps") for _ in range(2)]
        for w in workers:
            w.wait_ready()
        t0 = time.perf_counter()
        for w in workers:
            w.say("go")
        results = [w.line(300) for w in workers]
        seconds = time.perf_counter() - t0
        for w in workers:
            w.kill()
    taken = sum(int(r.split()[1]) for r in results if r and r.startswith("steps"))
    core = _core(url, CHASE_AT)
    with core.db.session() as s:
        per_case = Counter(e.case_id for e in s.exec(select(Event).where(Event.kind == "chase_sent")))
    core.db.engine.dispose()
    return seconds, taken, sum(n - 1 for n in per_case.values() if n > 1)


# --- running it --------------------------------------------------------------------------------


@contextmanager
def postgres(database_url: str | None) -> Iterator[tuple[object | None, str]]:
    """(server or None, a URL prefix to which a database name is appended)."""
    if database_url:
        yield None, database_url.rsplit("/", 1)[0]
        return
    sys.path.insert(0, str(ROOT))
    from tests.support.postgres import PostgresServer

    server = PostgresServer.start()
    try:
        yield server, server.url("").rstrip("/")
    finally:
        server.stop()


def _create(server: object | None, prefix: str, name: str) -> str:
    if server is not None:
        return server.create_database(name)  # type: ignore[attr-defined, no-any-return]
    import psycopg

    with psycopg.connect(prefix.replace("postgresql+psycopg", "postgresql") + "/postgres",
                         autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return f"{prefix}/{name}"


def _preload() -> None:
    """Import what a worker runs before forking, so each starts at once."""
    import bot.chasers
    import bot.mail.maildir  # noqa: F401
    import schedules.sweep  # noqa: F401


def run_trials(server: object | None, prefix: str, *, trials: int, cases: int = 20, referrals: int = 3,
               kills: int = 2, seed_value: int = 13) -> Outcome:
    _preload()
    rng = random.Random(seed_value)
    outcome = Outcome()
    for n in range(trials):
        url = _create(server, prefix, f"kill_{uuid.uuid4().hex[:10]}")
        with tempfile.TemporaryDirectory() as tmp:
            trial(url, Path(tmp) / "mail", cases=cases, referrals=referrals, kills=kills, rng=rng,
                  outcome=outcome)
        print(f"  trial {n + 1}/{trials}: lost {outcome.lost} doubled {outcome.doubled} "
              f"recovered {outcome.recovered}",
              file=sys.stderr, flush=True)
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--referrals", type=int, default=3)
    parser.add_argument("--kills", type=int, default=2, help="kills per trial")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--database-url", help="an existing PostgreSQL server (any database on it)")
    args = parser.parse_args()
    with postgres(args.database_url) as (server, prefix):
        t0 = time.perf_counter()
        outcome = run_trials(server, prefix, trials=args.trials, cases=args.cases,
                             referrals=args.referrals, kills=args.kills)
        elapsed = time.perf_counter() - t0
        seconds, taken, doubled_steps = due_steps(_create(server, prefix, "steps"), args.steps)
    print(f"\nTwo instances on one PostgreSQL, kill -9 at random ({outcome.trials} trials, "
          f"{outcome.kills} kills, {elapsed:.0f} s)")
    print(f"  per trial: {args.cases} due chase steps, their {3 * args.cases} emails, "
          f"{args.referrals} referral emails")
    print(f"  lost     {outcome.lost}   (target 0)")
    print(f"  doubled  {outcome.doubled}   (target 0)")
    print(f"  messages a killed instance had claimed, taken over once its lease ran out: "
          f"{outcome.recovered}")
    for note in outcome.notes[:10]:
        print(f"    {note}")
    verdict = "ok" if seconds <= 2.0 and doubled_steps == 0 and taken == args.steps else "FAIL"
    print(f"{args.steps} due steps by two instances together: {seconds:.2f} s, {taken} taken, "
          f"{doubled_steps} doubled (target <= 2 s, 0 doubled): {verdict}")
    if outcome.lost or outcome.doubled:
        sys.exit(1)


if __name__ == "__main__":
    main()
