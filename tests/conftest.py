"""Shared fixtures: a real database (SQLite by default, PostgreSQL with ``--db=postgresql``), the
default protocol, a fixed clock, and a real Maildir gateway.

``make test`` runs the suite twice: on SQLite, then on a throwaway PostgreSQL server that
tests/support/postgres.py starts for the session (``--db=postgresql``, or REVIEW_BOT_TEST_DB).
On PostgreSQL each test gets its own database: a copy of a template that already has the schema
(``CREATE DATABASE ... TEMPLATE``, about 12 ms, measured against 12 ms for TRUNCATE of every table,
but a copy also isolates tests that open their own connections). The PostgreSQL run only
collects the tests that touch a database (they use ``core``, ``database_url``,
``schema_database_url`` or ``db_backend``);
the rest do not depend on the database and already ran on SQLite.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.at_rest import generate_kek, kek_text, use_fallback_kek
from bot.cases import Referral, accept, get_case, open_case, record_sin_submitted
from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.mail.maildir import MaildirGateway
from bot.protocol import load_protocol
from tests.support.postgres import PostgresServer

# The Teams door's usual fixtures (`fake`, `teams`) for the modules that do not declare their own.
pytest_plugins = ["tests.support.teams_fixtures"]

# A key-encryption key for this test session, generated, never written to the repository: the
# Database fixtures use it (bot.at_rest fallback) and the CLI run in a subprocess gets it as
# DATA_KEY, so both read what the other wrote (docs/encryption.md).
_SESSION_KEK = generate_kek()
use_fallback_kek(_SESSION_KEK)
os.environ["DATA_KEY"] = kek_text(_SESSION_KEK)

#: Monday 16 November 2026, 10:00 in London (GMT, so also 10:00 UTC).
MONDAY_10 = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


class RecordingNotifier:
    surface = "test"

    def __init__(self) -> None:
        self.calls: list[tuple[set[int], list[str]]] = []

    def committed(self, case_ids: set[int], events: list) -> None:  # type: ignore[type-arg]
        self.calls.append((case_ids, [e.kind for e in events]))


# --- which database ---------------------------------------------------------------------------

DB_FIXTURES = {"core", "database_url", "schema_database_url", "db_backend"}
_TEMPLATE = "review_bot_template"
_numbers = itertools.count(1)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db", choices=("sqlite", "postgresql"), default=os.environ.get("REVIEW_BOT_TEST_DB", "sqlite"),
        help="database the tests run on (default sqlite; env REVIEW_BOT_TEST_DB)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {config.getoption('--db')}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--db") != "postgresql":
        return
    keep = [i for i in items if DB_FIXTURES & set(getattr(i, "fixturenames", ()))]
    config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep


@pytest.fixture(scope="session")
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@pytest.fixture(scope="session")
def pg_server(db_backend: str) -> Iterator[PostgresServer | None]:
    """The session's PostgreSQL server with a template database at the models' schema."""
    if db_backend != "postgresql":
        yield None
        return
    server = PostgresServer.start()
    try:
        db = Database(server.create_database(_TEMPLATE))
        db.create_schema()
        db.engine.dispose()
        yield server
    finally:
        server.stop()


def _pg_database(server: PostgresServer, template: str | None) -> Iterator[str]:
    name = f"test_{next(_numbers)}"
    url = server.create_database(name, template=template)
    try:
        yield url
    finally:
        server.drop_database(name)


@pytest.fixture
def database_url(tmp_path: Path, pg_server: PostgresServer | None) -> Iterator[str]:
    """A fresh EMPTY database for this test (what a new installation starts from)."""
    if pg_server is None:
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    yield from _pg_database(pg_server, None)


@pytest.fixture
def schema_database_url(tmp_path: Path, pg_server: PostgresServer | None) -> Iterator[str]:
    """A fresh database for this test that already has every table (from the models)."""
    if pg_server is None:
        url = f"sqlite:///{tmp_path / 'test.sqlite3'}"
        db = Database(url)
        db.create_schema()
        db.engine.dispose()
        yield url
        return
    yield from _pg_database(pg_server, _TEMPLATE)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_10)


@pytest.fixture
def core(tmp_path: Path, clock: FixedClock, schema_database_url: str) -> Iterator[Core]:
    db = Database(schema_database_url)
    yield Core(
        db=db, protocol=load_protocol(None), clock=clock, attachments_dir=tmp_path / "attachments",
        notifiers=[RecordingNotifier()],
    )
    db.engine.dispose()  # before the database is dropped


@pytest.fixture
def maildir(tmp_path: Path) -> MaildirGateway:
    return MaildirGateway(tmp_path / "mail")


def new_case(core: Core, **overrides: object) -> str:
    fields: dict[str, object] = {
        "referring_agency": "la-csc", "incident_date": date(2026, 11, 12),
        "la_aware_date": date(2026, 11, 13), "outcome": "death", "abuse_neglect": "yes",
        "legal_status": "cp-plan", "agencies_involved": ["police", "icb"],
    }
    fields.update(overrides)
    with core.transaction() as s:
        case = open_case(s, core, Referral(**fields), actor="bm@partnership.example",  # type: ignore[arg-type]
                         source="cli")
        return case.ref


def notified_case(core: Core) -> str:
    """A case whose notification has been submitted (information gathering)."""
    ref = new_case(core)
    with core.transaction() as s:
        case = get_case(s, ref)
        accept(s, core, case, actor="bm@partnership.example")
        record_sin_submitted(s, core, case, at=None, actor="bm@partnership.example")
    return ref

