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
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

from sqlmodel import func, select

from bench._instances import CHASE_AT, ROOT, SPEED, Worker, bench_core, drop_referrals, seed

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

    core = bench_core(url, CHASE_AT + timedelta(seconds=elapsed * SPEED) + SEND_LEASE + timedelta(minutes=1))
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
    core = bench_core(url, CHASE_AT)
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
    core = bench_core(url, CHASE_AT)
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
