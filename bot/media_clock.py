"""The media clock (process.md 6; M-1, M-11): alerts nobody acknowledges repeat, reminders run
before the journalist's deadline and one alert goes when it passes unanswered.

Unlike agency chasers none of this waits for working hours: journalists do not. When each step
falls due is computed by :func:`bot.media.schedule_next`; the sweep calls :func:`chase_media`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot import audit, reasons
from bot.core import Core
from bot.leases import claim
from bot.mailer import render
from bot.media import mail_context, next_reminder, next_repeat, recipients, routing_of, schedule_next
from bot.media_routing import Routing
from bot.models import MediaEnquiry
from bot.outbox import enqueue

# --- the steps that fall due ----------------------------------------------------------------------


def chase_media(core: Core, *, limit: int = 500) -> int:
    """Take every media step that has fallen due, each in its own transaction. Returns the count."""
    now = core.clock.now()
    with core.db.session() as session:
        ids = list(session.exec(
            select(MediaEnquiry.id)
            .where(col(MediaEnquiry.next_action_at).is_not(None), col(MediaEnquiry.next_action_at) <= now)
            .order_by(col(MediaEnquiry.next_action_at)).limit(limit)
        ))
    steps = 0
    for enquiry_id in ids:
        with core.transaction() as session:
            steps += take_media_step(session, core, enquiry_id)
    return steps


def take_media_step(session: Session, core: Core, enquiry_id: int | None) -> int:
    now = core.clock.now()
    # Claimed (row lock; another instance skips it) and re-read under the claim, so an
    # acknowledgement recorded meanwhile is seen and no step is taken twice (decision 0013).
    due = col(MediaEnquiry.next_action_at) <= now
    enquiry = claim(session, MediaEnquiry, enquiry_id, due) if enquiry_id else None
    if enquiry is None:
        return 0  # another instance has it, or it was acknowledged meanwhile
    routing = routing_of(enquiry)
    context = mail_context(session, core, enquiry, routing)
    taken = 0
    repeat_at = next_repeat(core, enquiry)
    if repeat_at is not None and repeat_at <= now:
        # Catch up after downtime with one repeat, not a burst: count every interval missed.
        within = core.protocol.media.acknowledge_within
        missed = int((now - enquiry.received_at) / within)
        enquiry.alerts_repeated = min(max(missed, enquiry.alerts_repeated + 1),
                                      core.protocol.media.acknowledge_repeats)
        n = enquiry.alerts_repeated
        repeat = render("media_alert_repeat", **context, repeat=n,
                        minutes=int((now - enquiry.received_at).total_seconds() // 60))
        # The business manager is among the recipients of every media alert (M-1).
        enqueue(
            session, core, key=f"media:{enquiry.id}:repeat:{n}", kind="media_alert_repeat",
            to=recipients(core, routing), rendered=repeat,
            case_id=enquiry.case_id, reason=reasons.media_unacknowledged(enquiry),
        )
        audit.record(
            session, at=now, actor=audit.SYSTEM, kind="media_alert_repeated", case_id=enquiry.case_id,
            media_id=enquiry.id, media_ref=enquiry.ref, repeat=n,
        )
        taken += 1
    reminder_at = next_reminder(core, enquiry)
    if reminder_at is not None and reminder_at <= now:
        taken += _deadline_step(session, core, enquiry, routing, context, now)
    schedule_next(core, enquiry)
    return taken


def _deadline_step(
    session: Session, core: Core, enquiry: MediaEnquiry, routing: Routing,
    context: dict[str, Any], now: datetime,
) -> int:
    assert enquiry.journalist_deadline is not None
    befores = core.protocol.media.deadline_reminders
    # After downtime, skip to the latest reminder that is due (no burst of stale reminders).
    index = enquiry.reminders_sent
    while index + 1 < len(befores) and enquiry.journalist_deadline - befores[index + 1] <= now:
        index += 1
    if index < len(befores) and enquiry.journalist_deadline > now:
        minutes = int((enquiry.journalist_deadline - now).total_seconds() // 60)
        rendered = render("media_deadline_reminder", **context, minutes=minutes)
        kind, key, detail = "media_deadline_reminder", f"media:{enquiry.id}:reminder:{index}", {
            "minutes_before": int(befores[index].total_seconds() // 60)}
        enquiry.reminders_sent = index + 1
    else:
        rendered = render("media_deadline_passed", **context)
        kind, key, detail = "media_deadline_passed", f"media:{enquiry.id}:deadline-passed", {}
        enquiry.reminders_sent = len(befores) + 1
    enqueue(session, core, key=key, kind=kind, to=recipients(core, routing), rendered=rendered,
            case_id=enquiry.case_id, reason=reasons.media_open(enquiry))
    audit.record(
        session, at=now, actor=audit.SYSTEM, kind=kind, case_id=enquiry.case_id,
        media_id=enquiry.id, media_ref=enquiry.ref, **detail,
    )
    return 1
