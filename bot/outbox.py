"""The outbox: every outbound email is a row first (architecture rule 4).

A service calls :func:`enqueue` inside its own transaction, with an idempotency key such as
``request:42:chase:2`` and a ``reason`` (:mod:`bot.reasons`); a second call with the same key is
a no-op, so a retried or repeated sweep never creates a second chaser. :func:`deliver` claims rows
one by one with a conditional UPDATE that stamps this instance as owner with a lease, re-checks
the reason in that same transaction (a message whose reason has gone is cancelled, audited, not
sent), sends, and marks it sent only if it still owns the claim (decisions 0007 and 0013).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid

from sqlalchemy import ColumnElement, and_, or_, update
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from bot import audit, reasons
from bot.core import Core
from bot.db import rowcount
from bot.leases import instance_id
from bot.mail.gateway import MailboxError, MailGateway
from bot.mailer import Rendered, compose
from bot.models import OutboxMessage

log = logging.getLogger(__name__)

#: How long a claim keeps other instances off a row: longer than the worst send. A throttled Graph
#: send honours Retry-After up to 300 s five times (bot/mail/graph.py), about 25 minutes; after
#: this the row is taken to belong to an instance that died mid-send and is tried again.
SEND_LEASE = timedelta(hours=1)
#: A failed "mark sent" is retried this many times at once, then at the start of the next tick.
MARK_TRIES = 3
MAX_BACKOFF = timedelta(hours=1)

#: Kinds that wait for working hours even when delivery was delayed (chasers; DEVELOPERS.md).
WORKING_HOURS_KINDS = frozenset(
    {"reminder", "overdue_chase", "escalation", "escalation_alert", "statutory_warning",
     "statutory_overdue"}
)


def new_message_id(core: Core) -> str:
    return make_msgid(domain=core.mail_domain)


def enqueue(
    session: Session, core: Core, *, key: str, kind: str, to: list[str], rendered: Rendered,
    cc: list[str] | None = None, case_id: int | None = None, request_id: int | None = None,
    in_reply_to: str | None = None, message_id: str | None = None, not_before: datetime | None = None,
    reason: str | None = None,
) -> OutboxMessage | None:
    """Add a message unless one with ``key`` exists. Returns the new row, or None if it existed.

    ``reason`` says why it exists (:mod:`bot.reasons`); it is checked again just before sending."""
    now = core.clock.now()
    values: dict[str, object] = {
        "idempotency_key": key,
        "kind": kind,
        "case_id": case_id,
        "request_id": request_id,
        "to": list(dict.fromkeys(to)),
        "cc": [c for c in dict.fromkeys(cc or []) if c not in to],
        "subject": rendered.subject,
        "body_text": rendered.text,
        "body_html": rendered.html,
        "message_id": message_id or new_message_id(core),
        "in_reply_to": in_reply_to,
        "references": in_reply_to,
        "status": "pending",
        "reason": reason,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": not_before or now,
    }
    batch: dict[str, dict[str, object]] | None = session.info.get(_BATCH)
    if batch is not None:
        batch.setdefault(key, values)
        return None
    insert = _insert(session)
    # One round trip: the new row comes back as an ORM object, nothing when the key existed.
    stmt = (
        insert(OutboxMessage).values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxMessage)
    )
    return session.scalars(stmt, execution_options={"populate_existing": True}).first()


_BATCH = "outbox_batch"


def _insert(session: Session) -> Callable[..., PgInsert | SqliteInsert]:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


@contextmanager
def batched(session: Session) -> Iterator[None]:
    """Within this block :func:`enqueue` collects its rows (returning None) and they are written
    in one INSERT at the end, still in the caller's transaction: a batch of deadline steps costs
    one round trip for all its messages instead of one each."""
    session.info[_BATCH] = {}
    try:
        yield
    except BaseException:
        session.info.pop(_BATCH, None)
        raise
    rows = list(session.info.pop(_BATCH).values())
    if rows:
        # executemany on the table: one cached statement, sent in batches (insertmanyvalues).
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        session.connection().execute(
            _insert(session)(table).on_conflict_do_nothing(index_elements=["idempotency_key"]), rows
        )


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    cancelled: int = 0


#: Rows this process sent but could not mark sent (database unreachable): (database url, row id)
#: -> (owner, sent at). Recorded at the start of the next delivery; the lease keeps others off.
_unmarked: dict[tuple[str, int], tuple[str, datetime]] = {}


def deliver(
    core: Core, gateway: MailGateway, *, limit: int = 500, owner: str | None = None
) -> DeliveryReport:
    """Send what is due. Each row: claim and re-check its reason (one transaction), send, mark sent."""
    owner = owner or instance_id()
    report = DeliveryReport()
    _record_unmarked(core)
    now = core.clock.now()
    with core.db.session() as session:
        # Two queries rather than one OR: each keeps to the (status, ...) index even once SQLite
        # has statistics, so an idle tick costs the same with a million sent rows (bench/sweep).
        due = list(
            session.exec(
                select(OutboxMessage.id)
                .where(OutboxMessage.status == "pending", col(OutboxMessage.next_attempt_at) <= now)
                .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
                .limit(limit)
            )
        )
        # Candidates by the (status, claimed_at) index: every lease is claimed_at + SEND_LEASE.
        # The claim itself checks lease_until exactly.
        expired = list(
            session.exec(
                select(OutboxMessage.id)
                .where(OutboxMessage.status == "sending", col(OutboxMessage.claimed_at) <= now - SEND_LEASE)
                .limit(limit)
            )
        )
    for row_id in expired + due:
        assert row_id is not None  # a primary key
        row = _claim(core, gateway, row_id, owner, report)
        if row is None:
            continue
        _send(core, gateway, row, owner, report)
    return report


def release_dead_claims(core: Core) -> int:
    """SQLite, at start under its single-instance lock: every row still "sending" belongs to a
    process that died mid-send, so its claim is over now rather than after SEND_LEASE (a media
    reminder due in 30 minutes must not wait an hour). The next delivery takes it over as it
    would an expired claim (checking ``was_sent`` where the gateway can). Returns the count."""
    now = core.clock.now()
    with core.transaction() as session:
        return rowcount(session.execute(
            update(OutboxMessage).where(col(OutboxMessage.status) == "sending")
            .values(claimed_at=now - SEND_LEASE, lease_until=now)
        ))


def _lease_over(now: datetime) -> ColumnElement[bool]:
    # Rows claimed before claims carried a lease have only claimed_at.
    return or_(
        col(OutboxMessage.lease_until) <= now,
        and_(col(OutboxMessage.lease_until).is_(None), col(OutboxMessage.claimed_at) <= now - SEND_LEASE),
    )


def _claim(
    core: Core, gateway: MailGateway, row_id: int, owner: str, report: DeliveryReport
) -> OutboxMessage | None:
    """Claim the row for ``owner`` and decide, in the same transaction, whether it should go now."""
    at = core.clock.now()
    claim = {
        "status": "sending", "claimed_by": owner, "claimed_at": at, "lease_until": at + SEND_LEASE,
        "attempts": OutboxMessage.attempts + 1,
    }
    with core.transaction() as session:
        recovered = False
        taken = rowcount(session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == row_id, col(OutboxMessage.status) == "pending",
                   col(OutboxMessage.next_attempt_at) <= at)
            .values(**claim)
        ))
        if taken != 1:
            recovered = True
            taken = rowcount(session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == row_id, col(OutboxMessage.status) == "sending",
                       _lease_over(at))
                .values(**claim)
            ))
        if taken != 1:
            return None  # another instance has it, or it was dealt with meanwhile
        row = session.get(OutboxMessage, row_id, populate_existing=True)
        assert row is not None
        if recovered:
            log.warning("outbox claim expired id=%s: its sender died mid-send; taking it over", row_id)
            was_sent = getattr(gateway, "was_sent", None)
            if was_sent is not None and was_sent(row.message_id):
                # The dead sender had handed it over: record that rather than send it twice.
                row.status, row.sent_at, row.lease_until = "sent", at, None
                report.sent += 1
                return None
        term = reasons.gone(session, row.reason)
        if term is not None:
            row.status, row.claimed_by, row.lease_until = "cancelled", None, None
            audit.record(
                session, at=at, actor=audit.SYSTEM, kind="outbox_cancelled", case_id=row.case_id,
                outbox_id=row.id, message_kind=row.kind, reason=term,
            )
            log.info("outbox cancelled id=%s kind=%s reason_gone=%s", row.id, row.kind, term)
            report.cancelled += 1
            return None
        if row.kind in WORKING_HOURS_KINDS and not core.calendar.is_within_working_hours(at):
            row.status, row.claimed_by, row.lease_until = "pending", None, None
            row.attempts -= 1
            row.next_attempt_at = core.calendar.next_working_moment(at)
            report.deferred += 1
            return None
        return row


def _send(core: Core, gateway: MailGateway, row: OutboxMessage, owner: str, report: DeliveryReport) -> None:
    at = core.clock.now()
    message = compose(
        sender=core.mail_from, to=row.to, cc=row.cc, subject=row.subject, text=row.body_text,
        html=row.body_html, message_id=row.message_id, in_reply_to=row.in_reply_to,
        references=row.references, date=at,
    )
    try:
        gateway.send(message)
    except MailboxError as exc:
        backoff = min(timedelta(minutes=2 ** min(row.attempts - 1, 10)), MAX_BACKOFF)
        with core.db.transaction() as session:
            session.execute(
                update(OutboxMessage)
                .where(*_owned(row.id, owner))
                .values(status="pending", next_attempt_at=at + backoff, last_error=str(exc)[:500],
                        claimed_by=None, lease_until=None)
            )
        log.warning("outbox send failed id=%s attempt=%s retry_in=%s", row.id, row.attempts, backoff)
        report.failed += 1
        return
    assert row.id is not None
    mark_sent(core, row.id, owner, at)
    log.info("outbox sent id=%s kind=%s", row.id, row.kind)
    report.sent += 1


def _owned(row_id: int | None, owner: str) -> tuple[ColumnElement[bool], ...]:
    return (
        col(OutboxMessage.id) == row_id, col(OutboxMessage.status) == "sending",
        col(OutboxMessage.claimed_by) == owner,
    )


def mark_sent(core: Core, row_id: int, owner: str, at: datetime) -> None:
    """Record the send, only if this instance still owns the claim; retried if the database fails."""
    for attempt in range(MARK_TRIES):
        try:
            with core.db.transaction() as session:
                marked = rowcount(session.execute(
                    update(OutboxMessage).where(*_owned(row_id, owner))
                    .values(status="sent", sent_at=at, last_error=None, lease_until=None)
                ))
        except SQLAlchemyError as exc:
            log.warning("outbox mark-sent failed id=%s try=%s: %s", row_id, attempt + 1, type(exc).__name__)
            time.sleep(0.1 * 2**attempt)
            continue
        if marked != 1:
            log.error(
                "outbox CLAIM LOST id=%s: sent by %s but the row is no longer its claim; another "
                "instance may send it again (lease %s too short for this send?)", row_id, owner, SEND_LEASE,
            )
        return
    _unmarked[(core.db.url, row_id)] = (owner, at)
    log.error("outbox sent id=%s but could not record it; recorded on the next tick", row_id)


def _record_unmarked(core: Core) -> None:
    for (url, row_id), (owner, at) in list(_unmarked.items()):
        if url != core.db.url:
            continue
        try:
            with core.db.transaction() as session:
                session.execute(
                    update(OutboxMessage).where(*_owned(row_id, owner))
                    .values(status="sent", sent_at=at, last_error=None, lease_until=None)
                )
        except SQLAlchemyError:
            return  # still unreachable; the tick reports it
        del _unmarked[(url, row_id)]
