"""The outbox: every outbound email is a row first (architecture rule 4).

A service calls :func:`enqueue` inside its own transaction, with an idempotency key such as
``request:42:chase:2``; a second call with the same key is a no-op, so a retried or repeated
sweep never creates a second chaser. :func:`deliver` claims rows one by one with a conditional
UPDATE, sends, and marks them sent; a crash between send and mark re-sends at most that row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from bot.core import Core
from bot.mail.gateway import MailboxError, MailGateway
from bot.mailer import Rendered, compose
from bot.models import OutboxMessage

log = logging.getLogger(__name__)

#: A row claimed longer ago than this is taken to belong to a process that died mid-send.
STALE_CLAIM = timedelta(minutes=10)
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
) -> OutboxMessage | None:
    """Add a message unless one with ``key`` exists. Returns the new row, or None if it existed."""
    now = core.clock.now()
    values = {
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
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": not_before or now,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(OutboxMessage).values(**values).on_conflict_do_nothing(
        index_elements=["idempotency_key"]
    ).returning(OutboxMessage.id)
    # RETURNING, not rowcount: on PostgreSQL SQLAlchemy adds RETURNING id itself and psycopg then
    # reports rowcount -1; no row back means the key already existed, on both databases.
    if session.execute(stmt).first() is None:
        return None
    return session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).one()


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    deferred: int = 0


def deliver(core: Core, gateway: MailGateway, *, limit: int = 500) -> DeliveryReport:
    """Send what is due. Each row: claim (conditional UPDATE), send, mark sent, in that order."""
    report = DeliveryReport()
    now = core.clock.now()
    with core.db.session() as session:
        # Two queries rather than one OR: each keeps to the (status, ...) index even once SQLite
        # has statistics, so an idle tick costs the same with a million sent rows (bench/sweep).
        due = list(
            session.exec(
                select(OutboxMessage.id)
                .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
            )
        )
        stale = list(
            session.exec(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.status == "sending",
                    OutboxMessage.claimed_at <= now - STALE_CLAIM,
                )
                .limit(limit)
            )
        )
    ids = stale + due
    within_hours = core.calendar.is_within_working_hours(now)
    for row_id in ids:
        with core.db.transaction() as session:
            row = session.get(OutboxMessage, row_id)
            if row is None:
                continue
            if row.kind in WORKING_HOURS_KINDS and not within_hours:
                row.next_attempt_at = core.calendar.next_working_moment(now)
                report.deferred += 1
                continue
            claimed = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == row_id,
                    or_(
                        OutboxMessage.status == "pending",
                        (OutboxMessage.status == "sending")
                        & (OutboxMessage.claimed_at <= now - STALE_CLAIM),
                    ),
                )
                .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
            )
            if claimed.rowcount != 1:
                continue  # another worker has it
            session.refresh(row)
        message = compose(
            sender=core.mail_from, to=row.to, cc=row.cc, subject=row.subject, text=row.body_text,
            html=row.body_html, message_id=row.message_id, in_reply_to=row.in_reply_to,
            references=row.references, date=now,
        )
        try:
            gateway.send(message)
        except MailboxError as exc:
            backoff = min(timedelta(minutes=2 ** min(row.attempts - 1, 10)), MAX_BACKOFF)
            with core.db.transaction() as session:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row_id)
                    .values(status="pending", next_attempt_at=now + backoff, last_error=str(exc)[:500])
                )
            log.warning("outbox send failed id=%s attempt=%s retry_in=%s", row_id, row.attempts, backoff)
            report.failed += 1
            continue
        with core.db.transaction() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(status="sent", sent_at=now, last_error=None)
            )
        log.info("outbox sent id=%s kind=%s", row_id, row.kind)
        report.sent += 1
    return report

