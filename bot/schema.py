"""The database schema's version: Alembic migrations run from code (no alembic.ini at run time).

The revisions live in ``bot/migrations/versions`` (package data, so an installed bot carries
them). Start-up calls :func:`ensure_schema`; ``review-bot db upgrade`` calls :func:`upgrade`.
See docs/decisions/0014-schema-migrations.md.

States a database can be in (:func:`schema_state`):

* ``empty``: no table at all. Start-up creates it at head (a fresh ``make run`` just works).
* ``legacy``: made by ``create_all`` before migrations existed (decision 0004): tables but no
  ``alembic_version``. It is checked against the baseline revision and stamped, then upgraded.
* ``current``: at the head revision.
* ``behind``: an older revision. Start-up refuses unless told to upgrade (``run --upgrade`` or
  ``DB_AUTO_UPGRADE``).
* ``ahead``: a revision this code does not know (a newer version ran). Always refused.

Upgrades hold a lock, so two instances starting together migrate once: PostgreSQL's
transaction-scoped advisory lock, SQLite's ``BEGIN IMMEDIATE`` (the write lock). Both databases
run the whole upgrade in one transaction: a failed migration leaves the old schema.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url

from bot.errors import ServiceError

#: The revision equal to the schema ``create_all`` made before migrations (decision 0004).
BASELINE = "0001"
log = logging.getLogger(__name__)

VERSION_TABLE = "alembic_version"
#: Where the revisions are: the packaged folder. Tests pass a copy with an extra revision.
SCRIPTS = "bot:migrations"
#: Any constant shared by every instance of the bot: the key of PostgreSQL's advisory lock.
_PG_LOCK_KEY = 0x5EB_0714


class SchemaError(ServiceError):
    """The database's schema does not fit this code; the message says what to do."""


@dataclass(frozen=True)
class SchemaState:
    kind: str  # empty | legacy | current | behind | ahead
    revision: str | None
    head: str

    def describe(self) -> str:
        if self.kind == "empty":
            return f"empty (no tables); this code's schema is {self.head}"
        if self.kind == "legacy":
            return f"made before migrations (no {VERSION_TABLE}); this code's schema is {self.head}"
        if self.kind == "current":
            return f"{self.revision} (head)"
        if self.kind == "behind":
            return f"{self.revision}; this code needs {self.head}: run `review-bot db upgrade`"
        return f"{self.revision}, unknown to this code (head {self.head}): a newer version wrote it"


def alembic_config(connection: Connection | None = None, scripts: str = SCRIPTS,
                   keyring: Any = None) -> Config:
    """A Config pointing at the scripts; ``connection`` is what env.py migrates; ``keyring``
    (bot.at_rest.Keyring) is what migration 0010 encrypts older rows with."""
    cfg = Config(stdout=io.StringIO())
    cfg.set_main_option("script_location", scripts)
    cfg.attributes["connection"] = connection
    cfg.attributes["keyring"] = keyring
    return cfg


def head_revision(scripts: str = SCRIPTS) -> str:
    # Asked on every readiness probe and CLI start: the scripts are read once per change of the
    # versions folder (a new revision changes its mtime), not from disk each time.
    return _head(scripts, (_folder(scripts) / "versions").stat().st_mtime_ns)


def _folder(scripts: str) -> Path:
    """A script location as alembic takes it: a folder, or ``package:folder`` (the packaged one)."""
    if ":" in scripts and not Path(scripts).exists():
        package, _, sub = scripts.partition(":")
        return Path(str(resources.files(package))) / sub
    return Path(scripts)


@cache
def _head(scripts: str, _versions_mtime: int) -> str:
    head = ScriptDirectory.from_config(alembic_config(scripts=scripts)).get_current_head()
    if head is None:  # pragma: no cover - the baseline always exists
        raise SchemaError("no migration scripts found in bot/migrations/versions")
    return head


def schema_state(connection: Connection, scripts: str = SCRIPTS) -> SchemaState:
    head = head_revision(scripts)
    tables = set(inspect(connection).get_table_names())
    if VERSION_TABLE not in tables:
        return SchemaState("empty" if not tables else "legacy", None, head)
    current = MigrationContext.configure(connection).get_current_revision()
    if current == head:
        return SchemaState("current", current, head)
    script = ScriptDirectory.from_config(alembic_config(scripts=scripts))
    known = {s.revision for s in script.walk_revisions()}
    return SchemaState("behind" if current in known else "ahead", current, head)


def stamp_head(engine: Engine) -> None:
    """Record the head revision in a database whose tables were made from the models (tests,
    benchmarks), unless it already records one."""
    head = head_revision()
    with engine.begin() as conn:
        if VERSION_TABLE in inspect(conn).get_table_names():
            return
        # Alembic's own version table, as `alembic stamp` makes it.
        conn.execute(text(f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
                          f"CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num))"))
        conn.execute(text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:head)"), {"head": head})


def migration_engine(url: str) -> Engine:
    """An engine for migrations only. SQLite: the driver's own transaction handling is switched
    off so DDL runs inside our ``BEGIN IMMEDIATE`` (pysqlite commits before DDL otherwise), and
    foreign keys stay off, as batch migrations that copy tables need (Alembic docs, "batch")."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, poolclass=_null_pool())
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, poolclass=_null_pool(),
                           connect_args={"isolation_level": None, "timeout": 60})

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the migration lock (see the module docstring)."""
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        yield conn


def upgrade(url: str, revision: str = "head", *, scripts: str = SCRIPTS,
            keyring: Any = None) -> tuple[SchemaState, SchemaState]:
    """Bring the database to ``revision`` under the lock; returns the states before and after."""
    engine = migration_engine(url)
    try:
        with _locked(engine) as conn:
            before = schema_state(conn, scripts)
            if before.kind == "ahead":
                raise SchemaError(f"database schema is {before.describe()}; refusing to touch it")
            cfg = alembic_config(conn, scripts, keyring)
            if before.kind == "legacy":
                check_matches_baseline(conn)
                _name_sqlite_constraints(conn)
                command.stamp(cfg, BASELINE)
            command.upgrade(cfg, revision)
        if engine.dialect.name == "sqlite":
            # A migration that rewrote values (0010 seals them) leaves their old pages in the WAL
            # until it is overwritten: empty it now, outside any transaction (docs/encryption.md).
            raw = engine.raw_connection()
            try:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
            finally:
                raw.close()
        with engine.connect() as conn:
            return before, schema_state(conn, scripts)
    finally:
        engine.dispose()


def current(url: str, *, scripts: str = SCRIPTS) -> SchemaState:
    engine = migration_engine(url)
    try:
        with engine.connect() as conn:
            return schema_state(conn, scripts)
    finally:
        engine.dispose()


def ensure_schema(engine: Engine, url: str, *, upgrade_allowed: bool, scripts: str = SCRIPTS,
                  keyring: Any = None) -> SchemaState:
    """Start-up: fine at head; create a brand-new database; otherwise upgrade only when allowed.

    A legacy database whose schema is exactly the baseline, while this code's head IS the
    baseline, only needs stamping (on SQLite, with four tables copied to name their UNIQUE
    constraints; same columns, same rows, one transaction): that is done without being asked.
    """
    with engine.connect() as conn:
        state = schema_state(conn, scripts)
    if state.kind == "current":
        return state
    if state.kind == "ahead":
        raise SchemaError(f"database schema is {state.describe()}. Run the newer version of "
                          "review-bot, or restore the database from before it ran.")
    stamp_only = state.kind == "legacy" and state.head == BASELINE
    if state.kind == "empty" or stamp_only or upgrade_allowed:
        after = upgrade(url, scripts=scripts, keyring=keyring)[1]
        log.info("database schema was %s; now %s", state.describe(), after.describe())
        return after
    raise SchemaError(
        f"database schema is {state.describe()}. Back up the database, then run "
        "`review-bot db upgrade` (or set DB_AUTO_UPGRADE=true to upgrade at start-up)."
    )


# --- the legacy check ---------------------------------------------------------------------------


def _shape(connection: Connection) -> dict[str, set[str]]:
    insp = inspect(connection)
    return {
        t: {c["name"] for c in insp.get_columns(t)}
        for t in insp.get_table_names() if t != VERSION_TABLE
    }


def baseline_shape() -> dict[str, set[str]]:
    """Tables and columns of the baseline revision, built in a scratch in-memory SQLite."""
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), BASELINE)
            return _shape(conn)
    finally:
        engine.dispose()


def _name_sqlite_constraints(connection: Connection) -> None:
    """create_all left SQLite's UNIQUE constraints unnamed (0004 had no naming convention);
    the baseline names them. Copy those tables once (Alembic batch, as every later SQLite
    migration does) so the database is exactly the baseline and a revision can drop them."""
    if connection.dialect.name != "sqlite":
        return
    from alembic.operations import Operations

    from bot.db import NAMING_CONVENTION

    insp = inspect(connection)
    ops = Operations(MigrationContext.configure(connection))
    for table in insp.get_table_names():
        if any(u["name"] is None for u in insp.get_unique_constraints(table)):
            with ops.batch_alter_table(table, recreate="always", naming_convention=NAMING_CONVENTION):
                pass


def check_matches_baseline(connection: Connection) -> None:
    """A database from before migrations must have exactly the baseline's tables and columns,
    or stamping it would be a lie and later migrations would fail half-way."""
    expected, found = baseline_shape(), _shape(connection)
    problems = [f"table {t} missing" for t in sorted(expected.keys() - found.keys())]
    problems += [f"table {t} not in the baseline" for t in sorted(found.keys() - expected.keys())]
    for t in sorted(expected.keys() & found.keys()):
        problems += [f"column {t}.{c} missing" for c in sorted(expected[t] - found[t])]
        problems += [f"column {t}.{c} not in the baseline" for c in sorted(found[t] - expected[t])]
    if problems:
        raise SchemaError(
            f"the database has no {VERSION_TABLE} and does not match the baseline revision "
            f"{BASELINE}, so it cannot be stamped: " + "; ".join(problems)
        )


# --- writing a new revision (developers) --------------------------------------------------------


def new_revision(message: str, *, scripts: str = SCRIPTS) -> str:
    """Autogenerate the next revision (``0002_<slug>.py`` ...) from the models' difference to a
    scratch SQLite database migrated to head. Returns the file's path; review it before commit."""
    import tempfile

    script = ScriptDirectory.from_config(alembic_config(scripts=scripts))
    numbers = [int(s.revision) for s in script.walk_revisions() if s.revision.isdigit()]
    rev_id = f"{max(numbers, default=0) + 1:04d}"
    with tempfile.TemporaryDirectory(prefix="review-bot-revision-") as tmp:
        url = f"sqlite:///{tmp}/scratch.sqlite3"
        if numbers:
            upgrade(url, scripts=scripts)
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                made = command.revision(alembic_config(conn, scripts), message=message,
                                        autogenerate=True, rev_id=rev_id)
        finally:
            engine.dispose()
    if made is None or isinstance(made, list):  # pragma: no cover - one head, one script
        raise SchemaError("alembic made no single revision")
    return made.path
