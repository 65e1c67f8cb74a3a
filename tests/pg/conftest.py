"""The PostgreSQL concurrency tests (decision 0013): a throwaway server per test module, a fresh
database per test, "instances" (separate engines, i.e. separate connection pools) on it, helpers.

These fixtures override the suite's SQLite ``core`` and ``clock`` for this folder only."""

from __future__ import annotations

import email
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from sqlmodel import select

from bot import agency_requests as ar
from bot.cases import Referral, accept, open_case, record_sin_submitted
from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.mail.maildir import MaildirGateway
from bot.mailer import Rendered
from bot.models import Deadline, Event, OutboxMessage
from bot.outbox import enqueue
from bot.protocol import load_protocol
from tests.support.postgres import PostgresServer

BM = "bm@partnership.example"
PRESS = "press.office@borough.example"
#: Thu 19 Nov 2026 10:10 UTC: requests go out; due Sat 21 Nov 10:10, chased Mon 23 Nov 09:00.
SENT_AT = datetime(2026, 11, 19, 10, 10, tzinfo=UTC)
CHASE_AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(SENT_AT)


@pytest.fixture
def url(pg: PostgresServer) -> str:
    url = pg.create_database(f"t_{uuid.uuid4().hex[:12]}")
    Database(url).create_schema()
    return url


def instance(url: str, clock: FixedClock, tmp_path: Path) -> Core:
    """One bot instance: its own engine (connection pool) on the shared database."""
    return Core(db=Database(url), protocol=load_protocol(None), clock=clock,
                attachments_dir=tmp_path / "attachments")


@pytest.fixture
def core(url: str, clock: FixedClock, tmp_path: Path) -> Iterator[Core]:
    core = instance(url, clock, tmp_path)
    yield core
    core.db.engine.dispose()


@pytest.fixture
def maildir(tmp_path: Path) -> MaildirGateway:
    return MaildirGateway(tmp_path / "mail")


def requests_to_police(core: Core, n: int) -> list[int]:
    """``n`` notified cases, each with an information gathering request to the police."""
    ids = []
    for _ in range(n):
        with core.transaction() as s:
            case = open_case(s, core, Referral(
                referring_agency="la-csc", incident_date=date(2026, 11, 12),
                la_aware_date=date(2026, 11, 13), outcome="death", abuse_neglect="yes",
                legal_status="cp-plan", agencies_involved=["police"]), actor=BM, source="cli")
            accept(s, core, case, actor=BM)
            record_sin_submitted(s, core, case, at=None, actor=BM)
            (request,) = ar.send_requests(s, core, case, kind="info-gathering", agencies=["police"],
                                          actor=BM)
            assert request.id is not None
            ids.append(request.id)
    return ids


def deadline_of(core: Core, request_id: int) -> Deadline:
    with core.db.session() as s:
        return s.exec(select(Deadline).where(Deadline.request_id == request_id)).one()


def events(core: Core, kind: str) -> list[Event]:
    with core.db.session() as s:
        return list(s.exec(select(Event).where(Event.kind == kind)))


def sent_subjects(maildir: MaildirGateway) -> list[str]:
    root = Path(maildir.name.removeprefix("maildir:")) / "sent"
    return [str(email.message_from_bytes(p.read_bytes(), policy=policy.default)["Subject"])
            for sub in ("new", "cur") for p in (root / sub).glob("*")]


def sent_message_ids(maildir: MaildirGateway) -> list[str]:
    root = Path(maildir.name.removeprefix("maildir:")) / "sent"
    return [str(email.message_from_bytes(p.read_bytes(), policy=policy.default)["Message-ID"])
            for sub in ("new", "cur") for p in (root / sub).glob("*")]


def run_together(*targets: object) -> list[object]:
    """Run the callables in threads released at the same moment; their results, in order."""
    barrier = threading.Barrier(len(targets))
    results: list[object] = [None] * len(targets)
    errors: list[BaseException] = []

    def go(i: int, fn: object) -> None:
        barrier.wait()
        try:
            results[i] = fn()  # type: ignore[operator]
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return results


def queued(core: Core, key: str = "test:1") -> int:
    with core.transaction() as s:
        row = enqueue(s, core, key=key, kind="test", to=["someone@agency.example"],
                      rendered=Rendered("subject", "text", None))
        assert row is not None and row.id is not None
        return row.id


def claimed_by(core: Core, row_id: int, owner: str, lease: timedelta) -> None:
    """As if ``owner`` claimed the row and is (or was) sending it."""
    with core.transaction() as s:
        row = s.get(OutboxMessage, row_id)
        assert row is not None
        row.status, row.claimed_by = "sending", owner
        row.claimed_at, row.lease_until = core.clock.now(), core.clock.now() + lease
        row.attempts = 1


def row(core: Core, row_id: int) -> OutboxMessage:
    with core.db.session() as s:
        found = s.get(OutboxMessage, row_id)
        assert found is not None
        return found
