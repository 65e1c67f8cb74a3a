"""The step the sweep over deadlines takes on a media enquiry's clock (decision 0026).

Called by :mod:`bot.chasers` on a row it has claimed, with the enquiry claimed and re-read in the
same transaction, exactly as an agency chaser is taken: one outbox message under
``deadline:<id>:step:<n>``, the row moved to its next step in the same commit, and a reason the
outbox re-checks at delivery (``deadline:<id>`` and the enquiry's state, bot.reasons), so an
acknowledgement or answer recorded after the step was queued cancels it. Nothing here waits for
working hours (process.md 6: journalists do not).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from bot import audit, media_clock, reasons
from bot.core import Core
from bot.mailer import render
from bot.media import OPEN, mail_context, recipients, routing_of
from bot.models import Deadline, MediaEnquiry
from bot.outbox import enqueue

log = logging.getLogger(__name__)


def step(session: Session, core: Core, deadline: Deadline, enquiry: MediaEnquiry, now: datetime) -> bool:
    """Take the due step of a media clock; False if there was none to take after all."""
    still_running = enquiry.status == "open" if deadline.kind == media_clock.ACKNOWLEDGEMENT \
        else enquiry.status in OPEN
    if not still_running:  # acknowledged / answered / closed meanwhile: the clock is over
        media_clock.meet(session, enquiry, (deadline.kind,), now)
        return False
    at = media_clock.step_time(core, deadline, deadline.step)
    if at is None or at > now:
        # Looked at early (a row migration 0009 opened, or a protocol changed): plan it again.
        media_clock.schedule_next(core, deadline)
        return False
    index = media_clock.catch_up(core, deadline, now)
    key = f"deadline:{deadline.id}:step:{index}"
    if deadline.kind == media_clock.ACKNOWLEDGEMENT:
        _repeat(session, core, deadline, enquiry, index, key, now)
    else:
        _deadline_step(session, core, deadline, enquiry, index, key, now)
    deadline.step = index + 1
    media_clock.schedule_next(core, deadline)
    log.info("deadline step id=%s media=%s kind=%s step=%s", deadline.id, enquiry.ref, deadline.kind, index,
             extra={"event": "deadline-step", "actor": "system"})
    return True


def _repeat(
    session: Session, core: Core, deadline: Deadline, enquiry: MediaEnquiry, index: int, key: str,
    now: datetime,
) -> None:
    routing = routing_of(enquiry)
    n = enquiry.alerts_repeated = index + 1
    rendered = render("media_alert_repeat", **mail_context(session, core, enquiry, routing), repeat=n,
                      minutes=int((now - enquiry.received_at).total_seconds() // 60))
    # The business manager is among the recipients of every media alert (M-1). Sent only while
    # the clock runs and nobody has picked the enquiry up (issue 9 item 6).
    enqueue(
        session, core, key=key, kind="media_alert_repeat", to=recipients(core, routing), rendered=rendered,
        case_id=enquiry.case_id,
        reason=f"{reasons.deadline(deadline)} {reasons.media_unacknowledged(enquiry)}",
    )
    audit.record(
        session, at=now, actor=audit.SYSTEM, kind="media_alert_repeated", case_id=enquiry.case_id,
        media_id=enquiry.id, media_ref=enquiry.ref, repeat=n,
    )


def _deadline_step(
    session: Session, core: Core, deadline: Deadline, enquiry: MediaEnquiry, index: int, key: str,
    now: datetime,
) -> None:
    befores = core.protocol.media.deadline_reminders
    context = mail_context(session, core, enquiry, routing_of(enquiry))
    detail: dict[str, int] = {}
    if index < len(befores):
        minutes = int((deadline.due_at - now).total_seconds() // 60)
        kind = "media_deadline_reminder"
        rendered = render(kind, **context, minutes=minutes)
        detail["minutes_before"] = int(befores[index].total_seconds() // 60)
    else:
        kind, rendered = "media_deadline_passed", render("media_deadline_passed", **context)
    enqueue(
        session, core, key=key, kind=kind, to=recipients(core, routing_of(enquiry)), rendered=rendered,
        case_id=enquiry.case_id, reason=f"{reasons.deadline(deadline)} {reasons.media_open(enquiry)}",
    )
    audit.record(
        session, at=now, actor=audit.SYSTEM, kind=kind, case_id=enquiry.case_id,
        media_id=enquiry.id, media_ref=enquiry.ref, **detail,
    )
