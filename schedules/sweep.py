"""What the clock runs on every tick: read the mailbox, take due deadline and media steps, send.

APScheduler only calls :func:`tick` (libraries.md section 4: the database is the source of truth,
one interval job, no job per deadline). A tick is safe to run at any time and any number of times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.chasers import chase_overdue
from bot.core import Core
from bot.inbound import sweep_orphan_attachments
from bot.mail.gateway import MailboxError, MailGateway
from bot.media import chase_media
from bot.outbox import DeliveryReport, deliver
from handlers.mail.intake import IntakeDeferred, IntakeResult, ingest

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    received: list[IntakeResult] = field(default_factory=list)
    mailbox_error: str | None = None
    #: why this poll stopped early with the message left in the mailbox (a busy database)
    intake_deferred: str | None = None
    steps: int = 0
    media_steps: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)

    def summary(self) -> dict[str, object]:
        return {
            "received": len(self.received),
            "mailbox_error": self.mailbox_error,
            "intake_deferred": self.intake_deferred,
            "deadline_steps": self.steps,
            "media_steps": self.media_steps,
            "sent": self.delivery.sent,
            "send_failures": self.delivery.failed,
            "held_for_working_hours": self.delivery.deferred,
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
        for item in gateway.fetch_new():
            try:
                result = ingest(core, item.raw, mailbox=gateway.name)
            except IntakeDeferred as exc:
                # Not recorded, not marked: read again on the next poll (issue 10).
                report.intake_deferred = str(exc)
                log.warning("intake deferred: %s", exc)
                break
            report.received.append(result)
            gateway.mark_processed(item.item_id)
    except MailboxError as exc:
        # Nothing is lost: unmarked messages are fetched again on the next poll.
        report.mailbox_error = str(exc)
        health.failed(now, str(exc))
        log.warning("mailbox unavailable (attempt %s): %s", health.failures, exc)
        return
    health.succeeded(now)


def tick(core: Core, gateway: MailGateway) -> TickReport:
    report = TickReport()
    poll_mailbox(core, gateway, report)
    report.steps = chase_overdue(core).steps
    # Media alerts are not held to working hours (issue 4): journalists' deadlines are not.
    report.media_steps = chase_media(core)
    report.delivery = deliver(core, gateway)
    # Files an intake wrote before a transaction that never committed (issue 10).
    sweep_orphan_attachments(core)
    return report
