"""What the clock runs on every tick: read the mailbox, take due deadline steps (media too), send.

APScheduler only calls :func:`tick` (libraries.md section 4: the database is the source of truth,
one interval job, no job per deadline). A tick is safe to run at any time and any number of times,
by any number of instances on one PostgreSQL (decision 0013): the mailbox is read by the holder
of the ``mailbox`` lease only, and every step and outbox row is claimed by exactly one instance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy.exc import SQLAlchemyError

from bot import leases
from bot.chasers import chase_overdue
from bot.chronology import read_pending
from bot.core import Core
from bot.inbound import sweep_orphan_attachments
from bot.mail.gateway import InboundItem, MailboxError, MailGateway
from bot.outbox import DeliveryReport, deliver
from bot.privacy import log_message
from bot.report_monthly import post_monthly_summary
from bot.retention import purge, schedule
from handlers.mail.batch import ingest_all
from handlers.mail.intake import IntakeDeferred, IntakeResult

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    received: list[IntakeResult] = field(default_factory=list)
    mailbox_error: str | None = None
    #: Another instance holds the mailbox lease; this tick did not read the mailbox.
    mailbox_elsewhere: str | None = None
    #: One line per phase the database failed in (the next tick tries again).
    database_errors: list[str] = field(default_factory=list)
    #: why this poll stopped early with the message left in the mailbox (a busy database)
    intake_deferred: str | None = None
    steps: int = 0
    media_steps: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    #: Rows purged per retention class (chat_posts: posts deleted) by this tick (bot.retention).
    purged: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        return {
            "received": len(self.received),
            "mailbox_error": self.mailbox_error,
            "intake_deferred": self.intake_deferred,
            "deadline_steps": self.steps,
            "media_steps": self.media_steps,
            "sent": self.delivery.sent,
            "send_failures": self.delivery.failed,
            "sends_unconfirmed": self.delivery.unconfirmed,
            "held_for_working_hours": self.delivery.deferred,
            "cancelled_reason_gone": self.delivery.cancelled,
            "mailbox_read_by": self.mailbox_elsewhere,
            "database_errors": self.database_errors,
            "purged": self.purged,
        }


def poll_mailbox(core: Core, gateway: MailGateway, report: TickReport) -> None:
    """Ingest every new message; mark it processed only after the intake committed it.

    While the mailbox is unreachable the poll backs off (bot/mailbox_health.py) rather than
    hammering a server that is down; App Home shows the outage."""
    health, now = core.mailbox, core.clock.now()
    if not health.should_poll(now):
        report.mailbox_error = f"{health.last_error} (next try {health.next_poll_at:%H:%M} UTC)"
        return
    try:
        # Several messages per transaction (handlers/mail/batch.py); each result comes after its
        # commit, so an item is marked only once what it did is in the database.
        for item, result in ingest_all(core, gateway.fetch_new(), mailbox=gateway.name):
            if isinstance(result, IntakeDeferred):
                # Not recorded, not marked: read again on the next poll (issue 10).
                report.intake_deferred = str(result)
                log.warning("intake deferred: %s", result)
                break
            if isinstance(result, SQLAlchemyError):
                raise result  # the database itself: the tick's phase reports it in one line
            if isinstance(result, Exception):
                # A bug met by one message must not hold up the ones behind it: this one stays
                # unmarked in the mailbox (read again next poll) and the rest are read now.
                log.error("intake failed for one message, left in the mailbox: %s", log_message(result))
                report.intake_deferred = f"one message could not be read ({type(result).__name__})"
                continue
            report.received.append(result)
            gateway.mark_processed(item.item_id)
    except MailboxError as exc:
        # Nothing is lost: unmarked messages are fetched again on the next poll.
        report.mailbox_error = str(exc)
        health.failed(now, str(exc))
        log.warning("mailbox unavailable (attempt %s): %s", health.failures, exc)
        return
    health.succeeded(now)


MAILBOX_LEASE = "mailbox"
ORPHAN_SWEEP_EVERY = timedelta(hours=1)
#: The longest an instance goes without looking for records past their retention period.
RETENTION_LOOK_EVERY = timedelta(hours=1)


class LeasedMailbox:
    """The gateway, read while holding the mailbox lease: a long read renews it as it goes (every
    third of the lease, by the clock), and stops at the next message if the lease was lost, so
    two instances never read the mailbox at once."""

    def __init__(self, core: Core, gateway: MailGateway, holder: str, lease_for: timedelta) -> None:
        self.core, self.gateway, self.holder, self.lease_for = core, gateway, holder, lease_for
        self.name = gateway.name
        self.renewed_at = core.clock.now()

    def fetch_new(self) -> Iterator[InboundItem]:
        for item in self.gateway.fetch_new():
            if not self._still_held():
                log.warning("mailbox lease lost during a read; another instance reads on")
                return
            yield item

    def _still_held(self) -> bool:
        now = self.core.clock.now()
        if now < self.renewed_at + self.lease_for / 3:
            return True
        with self.core.db.transaction() as session:
            held = leases.acquire(session, MAILBOX_LEASE, self.holder, now, self.lease_for)
        self.renewed_at = now
        return held

    def mark_processed(self, item_id: str) -> None:
        self.gateway.mark_processed(item_id)

    def send(self, message: EmailMessage) -> str:
        return self.gateway.send(message)

    def check(self) -> list[str]:
        return self.gateway.check()


#: A one-shot tick (``review-bot tick``) holds the mailbox lease this long at most, then releases it.
ONE_SHOT_LEASE = timedelta(minutes=5)


def poll_under_lease(
    core: Core, gateway: MailGateway, report: TickReport, lease_for: timedelta | None
) -> None:
    """Read the mailbox only while this instance holds the mailbox lease (one reader at a time).

    ``review-bot run`` passes its tick interval: it renews the lease on every tick, and if it
    dies the lease lapses one interval after its last renewal, so the next instance to tick
    takes over. A one-shot tick (None) releases it after reading, so a ``tick --now`` in another
    time never keeps a running instance off the mailbox."""
    me = leases.instance_id()
    with core.db.transaction() as session:
        held = leases.acquire(session, MAILBOX_LEASE, me, core.clock.now(), lease_for or ONE_SHOT_LEASE)
        holder = None if held else leases.holder_of(session, MAILBOX_LEASE, core.clock.now())
    if not held:
        report.mailbox_elsewhere = holder
        return
    try:
        poll_mailbox(core, LeasedMailbox(core, gateway, me, lease_for or ONE_SHOT_LEASE), report)
    finally:
        if lease_for is None:
            with core.db.transaction() as session:
                leases.release(session, MAILBOX_LEASE, me)


def release_mailbox(core: Core) -> None:
    """A stopping instance gives the mailbox lease up at once (a one-shot ``tick`` or the next
    start would otherwise wait out the tick interval it was taken for)."""
    with core.db.transaction() as session:
        leases.release(session, MAILBOX_LEASE, leases.instance_id())


def tick(core: Core, gateway: MailGateway, *, lease_for: timedelta | None = None) -> TickReport:
    """One tick. ``lease_for``: the tick interval of a running instance (None: a one-shot tick)."""
    report = TickReport()
    _phase(report, "mailbox", lambda: poll_under_lease(core, gateway, report, lease_for))

    def steps() -> None:
        # A media enquiry's clocks are deadline rows too (decision 0026), flagged not to wait for
        # working hours (issue 4): journalists' deadlines are not.
        swept = chase_overdue(core)
        report.steps, report.media_steps = swept.steps, swept.media_steps

    def delivery() -> None:
        report.delivery = deliver(core, gateway)

    _phase(report, "chronology returns", lambda: read_pending(core))  # outside the intake's lock
    _phase(report, "deadline steps", steps)
    _phase(report, "delivery", delivery)

    def retention() -> None:
        # After delivery: what is past its period is emptied (bounded, under a lease; decision 0030).
        now = core.clock.now()
        if core.retention_due_at is not None and now < core.retention_due_at:
            return  # nothing falls due before then: an idle tick stays cheap (issue 10's 5 ms)
        report.purged = purge(core)
        if report.purged:  # a bounded batch: the next tick looks again
            core.retention_due_at = None
            return
        # Until the next record falls due; an hour at most, for what is recorded or released
        # from a hold meanwhile (periods are days to years: an hour late is nothing).
        later = [row.next_due for row in schedule(core) if row.next_due is not None]
        core.retention_due_at = min([*later, now + RETENTION_LOOK_EVERY])

    _phase(report, "retention", retention)
    # Once a month, on its first working day, across instances (bot.report_monthly; issue 14).
    _phase(report, "monthly summary", lambda: post_monthly_summary(core))
    # Files an intake wrote before a transaction that never committed (issue 10).
    # It lists the whole folder: hourly is enough for files older than an hour.
    if core.orphans_swept_at is None or core.clock.now() - core.orphans_swept_at >= ORPHAN_SWEEP_EVERY:
        core.orphans_swept_at = core.clock.now()
        _phase(report, "attachment sweep", lambda: sweep_orphan_attachments(core))
    return report


def _phase(report: TickReport, name: str, run: Callable[[], object]) -> None:
    """Run one phase; a database failure ends it with one log line, not a traceback per row."""
    try:
        run()
    except Exception as exc:  # a database failure or a bug: the other phases still run
        line = f"{name}: {log_message(exc)}"  # never the statement's parameters (bot/privacy.py)
        report.database_errors.append(line)
        log.error("tick: error in %s", line)
