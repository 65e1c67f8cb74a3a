"""Several instances on one database: who this instance is, row claims, and named leases.

Two or more ``review-bot run`` may share one PostgreSQL (decision 0013). Every unit of work is
taken by exactly one of them:

* a deadline, request or media enquiry is *claimed* for the length of one transaction with
  ``SELECT ... FOR UPDATE SKIP LOCKED`` (:func:`claim`): another instance skips it instead of
  waiting, and the claimer re-reads the row as committed, so a step re-checks its reason (request
  still open, deadline not met) under the claim;
* an outbox row is claimed by a conditional UPDATE that stamps the owner and a lease
  (:mod:`bot.outbox`);
* the mailbox is read by one instance at a time under a named :class:`~bot.models.Lease` row
  (:func:`acquire`), which another instance takes over once it expires.

SQLite has one writer at a time and no row locks: :func:`claim` starts the write transaction
before reading, so the read is as fresh as the write. One instance only is supported on SQLite;
:func:`sqlite_single_instance` refuses a second ``run``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, TypeVar

from sqlalchemy import case, delete, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from bot.db import rowcount
from bot.models import Lease

log = logging.getLogger(__name__)

T = TypeVar("T")

_identity: dict[int, str] = {}


def instance_id() -> str:
    """``hostname:pid:random``, fixed for the life of this process (a fork gets its own)."""
    pid = os.getpid()
    if pid not in _identity:
        _identity[pid] = f"{socket.gethostname()}:{pid}:{secrets.token_hex(4)}"
    return _identity[pid]


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def claim(session: Session, model: type[T], row_id: int, *conditions: Any, wait: bool = False) -> T | None:
    """The row ``row_id`` of ``model``, locked for this transaction, if it still meets ``conditions``.

    None when another transaction holds it (PostgreSQL, unless ``wait``) or it no longer qualifies.
    The row is read afresh, never from the session's cache."""
    table: Any = model
    if is_sqlite(session):
        # pysqlite starts the transaction only at the first write: write first, so no other writer
        # can change the row between this read and our commit.
        session.execute(update(table).where(table.id == row_id).values(id=table.id))
    stmt = (
        select(table).where(table.id == row_id, *conditions)
        .with_for_update(skip_locked=not wait)
        .execution_options(populate_existing=True)
    )
    return session.exec(stmt).first()


def write_lock(session: Session) -> None:
    """On SQLite, start the write transaction now (a write statement takes the database's write
    lock even when it matches no row), so what is read next cannot change before the commit.
    PostgreSQL locks rows instead (``FOR UPDATE``): nothing to do."""
    if is_sqlite(session):
        session.execute(update(Lease).where(col(Lease.name).is_(None)).values(holder=Lease.holder))


# --- named leases ----------------------------------------------------------------------------


def acquire(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``ttl``; False while another holder's lease is live."""
    insert = sqlite_insert if is_sqlite(session) else pg_insert
    session.execute(
        insert(Lease).values(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    taken = session.execute(
        update(Lease)
        .where(col(Lease.name) == name, or_(col(Lease.holder) == holder, col(Lease.expires_at) <= now))
        .values(
            holder=holder, expires_at=now + ttl,
            acquired_at=case((col(Lease.holder) == holder, Lease.acquired_at), else_=now),
        )
    )
    return rowcount(taken) == 1


def release(session: Session, name: str, holder: str) -> None:
    """Give the lease up at once (a clean stop), so another instance need not wait for it to expire."""
    # Deleted, not expired "now": a one-shot `tick --now <a future moment>` would otherwise leave
    # an expiry in the future that locks the running instances out until the wall clock gets there.
    session.execute(delete(Lease).where(col(Lease.name) == name, col(Lease.holder) == holder))


def holder_of(session: Session, name: str, now: datetime) -> str | None:
    row = session.get(Lease, name, populate_existing=True)
    return row.holder if row is not None and row.expires_at > now else None


# --- SQLite: one instance ----------------------------------------------------------------------


class SecondInstance(SystemExit):
    """Another ``review-bot run`` already uses this SQLite database: the process stops with the
    message (exit status 1) rather than a traceback."""


def sqlite_single_instance(url: str) -> IO[str] | None:
    """On SQLite, hold an exclusive lock on ``<database>.lock`` for the life of the process.

    Returns the open lock file (keep a reference), None for PostgreSQL or an in-memory database.
    Raises :class:`SecondInstance` if another process holds it. The operating system drops the
    lock when the process dies, even by ``kill -9``, so there is nothing stale to clean up."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SecondInstance(
            f"another review-bot is already running on {parsed.database}; SQLite supports one "
            "instance (use PostgreSQL to run several)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(instance_id() + "\n")
    handle.flush()
    return handle
