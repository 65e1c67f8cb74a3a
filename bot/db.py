"""The database engine and its session factory. SQLite by default; PostgreSQL for production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import DateTime, event
from sqlalchemy.engine import CursorResult, Engine, Result, make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine

from bot.at_rest import Keyring, fallback_kek, keyring_of

#: PostgreSQL's own default names (``<table>_pkey``, ``<table>_<col>_fkey``, ``<table>_<cols>_key``)
#: and SQLAlchemy's default index name: see bot/models.py and docs/decisions/0014.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE changed. SQLModel's ``Session.execute`` is typed as returning a
    plain ``Result``; for a DML statement it is a ``CursorResult``, which carries the count."""
    return cast(CursorResult[Any], result).rowcount


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without a zone (portable) and always gives back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use the clock (aware UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for SQLite, the folder is created and WAL mode switched on."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Bolt listener threads, the poller and the tick all write: allow cross-thread use.
        kwargs["connect_args"] = {"check_same_thread": False}
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL: readers never block the one writer; NORMAL sync is durable across process
            # crashes (libraries.md section 6); busy_timeout rides out a concurrent writer.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    return engine


def create_schema(engine: Engine) -> None:
    """Create missing tables straight from the models: for tests and benchmarks only, which need
    a fresh database fast. The bot itself uses migrations (:func:`bot.schema.ensure_schema`;
    docs/decisions/0014-schema-migrations.md)."""
    import bot.models  # noqa: F401  (registers the tables on SQLModel.metadata)

    SQLModel.metadata.create_all(engine)
    prepare_keys(engine)
    # The models ARE the head schema (tests/test_schema.py proves models and migrations agree), so
    # the database says so: the CLI and `run` then accept it as current, as they would one made
    # by `db upgrade`.
    from bot.schema import stamp_head

    stamp_head(engine)


def prepare_keys(engine: Engine) -> None:
    """The database's data keys made if it has none, and loaded (an engine given a key only)."""
    if getattr(engine.dialect, "review_bot_keyring", None) is not None:
        with engine.begin() as conn:
            keyring_of(engine).ensure(conn)


class Database:
    """The engine plus a transaction helper: ``with db.transaction() as s: ...``.

    ``kek`` is the key-encryption key the encrypted columns use (bot/at_rest.py); without one,
    the process's fallback (tests, benchmarks) or, failing that, none: encrypted columns then
    refuse to work, naming DATA_KEY."""

    def __init__(self, url: str, *, kek: bytes | None = None, key_setting: str = "DATA_KEY") -> None:
        self.url = url
        self.engine = make_engine(url)
        kek = kek if kek is not None else fallback_kek()
        self.keyring = Keyring(kek, key_setting).attach(self.engine) if kek is not None else None

    def create_schema(self) -> None:
        create_schema(self.engine)

    def ensure_schema(self, *, upgrade: bool = False) -> None:
        """Start-up: the schema at the migrations' head, or a clear refusal (bot.schema)."""
        from bot.schema import ensure_schema

        ensure_schema(self.engine, self.url, upgrade_allowed=upgrade, keyring=self.keyring)
        prepare_keys(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)
