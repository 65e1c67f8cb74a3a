"""The outbox: every outbound email is a row first (architecture rule 4).

A service calls :func:`enqueue` inside its own transaction, with an idempotency key such as
``request:42:chase:2`` and a ``reason`` (:mod:`bot.reasons`); a second call with the same key is
a no-op, so a retried or repeated sweep never creates a second chaser. :func:`deliver` claims rows
one by one with a conditional UPDATE that stamps this instance as owner with a lease, re-checks
the reason in that same transaction (a message whose reason has gone is cancelled, audited, not
sent), sends, and marks it sent only if it still owns the claim (decisions 0007 and 0013;
the marking is in :mod:`bot.outbox_marks`).

A send that may have gone without our knowing (its answer lost: :class:`SendOutcomeUnknown`; or
its sender died before marking it) is never simply sent again. The row becomes ``unconfirmed``
and, once the mailbox has had time to file the copy of what it sent, it is looked for there by
its Message-ID (the gateway's ``was_sent``): found, it is recorded as sent; not found, it is sent.
Statuses: pending, sending, unconfirmed, sent, cancelled.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot import audit, reasons
from bot.core import Core
from bot.db import rowcount
from bot.leases import instance_id
from bot.mail.gateway import MailboxError, MailGateway, SendOutcomeUnknown
from bot.mailer import OutboundFile, Rendered, compose
from bot.models import OutboxMessage
from bot.outbox_files import add_files, files_of
from bot.outbox_marks import mark_sent, owned, record_unmarked

log = logging.getLogger(__name__)

#: How long a claim keeps other instances off a row: longer than the worst send. A throttled Graph
#: send honours Retry-After up to 300 s five times (bot/mail/graph.py), about 25 minutes; after
#: this the row is taken to belong to an instance that died mid-send and is taken over.
SEND_LEASE = timedelta(hours=1)
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
    reason: str | None = None, attachments: Sequence[OutboundFile] = (),
) -> OutboxMessage | None:
    """Add a message unless one with ``key`` exists. Returns the new row, or None if it existed.

    ``reason`` says why it exists (:mod:`bot.reasons`); it is checked again just before sending.
    ``attachments`` are copied into rows of their own, only with a new message (the key decides)."""
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
        "reason": reason,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": not_before or now,
    }
    batch: dict[str, dict[str, Any]] | None = session.info.get(_BATCH)
    if batch is not None:
        if attachments:
            raise ValueError("a message with attachments cannot be queued in a batch")
        batch.setdefault(key, values)
        return None
    insert = _insert(session)
    # One round trip: the new row comes back as an ORM object, nothing when the key existed.
    stmt = (
        insert(OutboxMessage).values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxMessage)
    )
    row = session.scalars(stmt, execution_options={"populate_existing": True}).first()
    if row is not None and attachments:
        add_files(session, row, attachments)
    return row


_BATCH = "outbox_batch"


def _insert(session: Session):  # type: ignore[no-untyped-def]
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
    #: Messages that may have gone and are not to be sent again until the mailbox says they did
    #: not: a send left unanswered, a look among the sent copies that failed or came too soon.
    unconfirmed: int = 0


def deliver(
    core: Core, gateway: MailGateway, *, limit: int = 500, owner: str | None = None
) -> DeliveryReport:
    """Send what is due. Each row: claim and re-check its reason (one transaction), send, mark sent.

    A row whose last attempt may have gone (its send unanswered, its sender dead mid-send) is
    looked for among the mailbox's sent copies before it is sent again (decision 0013)."""
    owner = owner or instance_id()
    report = DeliveryReport()
    record_unmarked(core)
    now = core.clock.now()
    with core.db.session() as session:
        # Separate queries rather than one OR: each keeps to the (status, ...) index even once
        # SQLite has statistics, so an idle tick costs the same with a million sent rows
        # (bench/sweep).
        due = list(
            session.exec(
                select(OutboxMessage.id)
                .where(col(OutboxMessage.status) == "pending", col(OutboxMessage.next_attempt_at) <= now)
                .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
                .limit(limit)
            )
        )
        unconfirmed = list(
            session.exec(
                select(OutboxMessage.id)
                .where(col(OutboxMessage.status) == "unconfirmed", col(OutboxMessage.next_attempt_at) <= now)
                .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
                .limit(limit)
            )
        )
        # Candidates by the (status, claimed_at) index: every lease is claimed_at + SEND_LEASE.
        # The claim itself checks lease_until exactly.
        expired = list(
            session.exec(
                select(OutboxMessage.id)
                .where(col(OutboxMessage.status) == "sending",
                       col(OutboxMessage.claimed_at) <= now - SEND_LEASE)
                .limit(limit)
            )
        )
    for row_id in expired + unconfirmed + due:
        assert row_id is not None  # a primary key
        row = _claim(core, gateway, row_id, owner, report)
        if row is None:
            continue
        _send(core, gateway, row, owner, report)
    return report


def release_dead_claims(core: Core) -> int:
    """SQLite, at start under its single-instance lock: every row still "sending" belongs to a
    process that died mid-send, so its claim is over now rather than after SEND_LEASE (a media
    reminder due in 30 minutes must not wait an hour). It may have gone: the row becomes
    ``unconfirmed``, due now, with ``lease_until`` = now, when the dead claim ended; the next
    delivery looks for it among the mailbox's sent copies and sends it only if it is not there
    ``sent_copy_lag`` after that. ``claimed_at`` stays: when it may have gone. Returns the count."""
    now = core.clock.now()
    with core.transaction() as session:
        return rowcount(session.execute(
            update(OutboxMessage).where(col(OutboxMessage.status) == "sending")
            .values(status="unconfirmed", next_attempt_at=now, claimed_by=None, lease_until=now)
        ))


def _lease_over(now: datetime) -> ColumnElement[bool]:
    # Rows claimed before claims carried a lease have only claimed_at.
    return or_(
        col(OutboxMessage.lease_until) <= now,
        and_(col(OutboxMessage.lease_until).is_(None), col(OutboxMessage.claimed_at) <= now - SEND_LEASE),
    )


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2 ** min(attempts - 1, 10)), MAX_BACKOFF)


def _sent_copy_lag(gateway: MailGateway) -> timedelta:
    """How long the mailbox may take to show a sent copy (bot/mail/gateway.py); none if unsaid."""
    lag = getattr(gateway, "sent_copy_lag", None)
    return lag if isinstance(lag, timedelta) else timedelta(0)


def _claim(
    core: Core, gateway: MailGateway, row_id: int, owner: str, report: DeliveryReport
) -> OutboxMessage | None:
    """Claim the row for ``owner`` and decide, in the same transaction, whether it should go now.

    A row whose last attempt may have gone (an expired claim, an unanswered send) is claimed,
    then looked for among the sent copies outside any transaction, then decided on."""
    at = core.clock.now()
    claim = {
        "status": "sending", "claimed_by": owner, "claimed_at": at, "lease_until": at + SEND_LEASE,
        "attempts": OutboxMessage.attempts + 1,
    }
    with core.transaction() as session:
        taken = rowcount(session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == row_id, col(OutboxMessage.status) == "pending",
                   col(OutboxMessage.next_attempt_at) <= at)
            .values(**claim)
        ))
        if taken == 1:
            row = session.get(OutboxMessage, row_id, populate_existing=True)
            assert row is not None
            return _still_wanted(session, core, row, at, report)
        earlier = session.execute(
            select(OutboxMessage.status, OutboxMessage.claimed_at, OutboxMessage.lease_until,
                   OutboxMessage.message_id).where(OutboxMessage.id == row_id)
        ).first()
        taken = rowcount(session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == row_id, or_(
                and_(col(OutboxMessage.status) == "sending", _lease_over(at)),
                and_(col(OutboxMessage.status) == "unconfirmed", col(OutboxMessage.next_attempt_at) <= at),
            ))
            .values(**claim)
        ))
        if taken != 1 or earlier is None:
            return None  # another instance has it, or it was dealt with meanwhile
    attempted = earlier.claimed_at or at
    # A dead sender may have handed the message over at any moment until its claim ended: its
    # copy is awaited for the lag after that. An unanswered send (no lease_until) was put off
    # until its copy would show already (_send).
    claim_end = earlier.lease_until
    if earlier.status == "sending":
        log.warning("outbox claim expired id=%s: its sender died mid-send; taking it over", row_id)
        claim_end = claim_end or attempted + SEND_LEASE
    settled = claim_end + _sent_copy_lag(gateway) if claim_end is not None else at
    return _unless_sent(core, gateway, row_id, earlier.message_id, owner, attempted, settled, report)


def _unless_sent(
    core: Core, gateway: MailGateway, row_id: int, message_id: str, owner: str, attempted: datetime,
    settled: datetime, report: DeliveryReport,
) -> OutboxMessage | None:
    """Ask the mailbox whether the claimed row's last attempt went; decide under the claim.

    Found: recorded as sent then (``attempted``), never sent twice. Not found before ``settled``
    (the copy may not be filed yet), or the mailbox could not be asked: put off, still
    unconfirmed. Not found after it, or a mailbox that cannot tell: sent again."""
    at = core.clock.now()
    was_sent = getattr(gateway, "was_sent", None)
    found: bool | None = None
    failure: MailboxError | None = None
    if was_sent is not None:
        try:
            found = was_sent(message_id)
        except MailboxError as exc:
            failure = exc
    with core.transaction() as session:
        row = session.get(OutboxMessage, row_id, populate_existing=True)
        if row is None or row.status != "sending" or row.claimed_by != owner:
            return None  # its claim was lost meanwhile; the new holder decides
        if found:
            row.status, row.sent_at, row.lease_until, row.last_error = "sent", attempted, None, None
            log.info("outbox id=%s was already in the mailbox's sent copies: recorded, not resent", row_id)
            report.sent += 1
            return None
        if failure is not None or (found is False and settled > at):
            row.status, row.claimed_by, row.lease_until = "unconfirmed", None, None
            row.claimed_at = attempted  # when it may have gone, should it be found later
            if failure is not None:
                row.next_attempt_at, row.last_error = at + _backoff(row.attempts), str(failure)[:500]
                log.warning("outbox id=%s: could not look among the sent copies; asking again in %s",
                            row_id, row.next_attempt_at - at)
            else:
                row.attempts -= 1  # a look, not a send
                row.next_attempt_at = settled
                log.info("outbox id=%s not among the sent copies yet; looking again at %s",
                         row_id, settled.isoformat())
            report.unconfirmed += 1
            return None
        if found is None:
            log.warning("outbox id=%s may have gone already, but %s cannot tell; sending again",
                        row_id, gateway.name)
        return _still_wanted(session, core, row, at, report)


def _still_wanted(
    session: Session, core: Core, row: OutboxMessage, at: datetime, report: DeliveryReport
) -> OutboxMessage | None:
    """Under the claim: a message whose reason has gone is cancelled, a chaser outside working
    hours waits; anything else is returned to be sent."""
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
        references=row.references, date=at, attachments=files_of(core, row.id),
    )
    try:
        gateway.send(message)
    except SendOutcomeUnknown as exc:
        # It may have gone: not put back to be sent, but to be looked for once the mailbox has
        # had time to file its copy (decision 0013).
        wait = max(_sent_copy_lag(gateway), _backoff(row.attempts))
        _put_back(core, row, owner, status="unconfirmed", until=core.clock.now() + wait, error=exc)
        log.warning("outbox send unanswered id=%s attempt=%s: it may have gone; the mailbox is "
                    "asked before any resend, in %s", row.id, row.attempts, wait)
        report.unconfirmed += 1
        return
    except MailboxError as exc:
        backoff = _backoff(row.attempts)
        _put_back(core, row, owner, status="pending", until=at + backoff, error=exc)
        log.warning("outbox send failed id=%s attempt=%s retry_in=%s", row.id, row.attempts, backoff)
        report.failed += 1
        return
    assert row.id is not None
    mark_sent(core, row.id, owner, at)
    log.info("outbox sent id=%s kind=%s", row.id, row.kind)
    report.sent += 1


def _put_back(
    core: Core, row: OutboxMessage, owner: str, *, status: str, until: datetime, error: MailboxError
) -> None:
    with core.db.transaction() as session:
        session.execute(
            update(OutboxMessage)
            .where(*owned(row.id, owner))
            .values(status=status, next_attempt_at=until, last_error=str(error)[:500],
                    claimed_by=None, lease_until=None)
        )
