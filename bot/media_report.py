"""What a media enquiry looks like to Slack and the CLI, and how well it was handled.

``enquiry_view`` is the Slack-safe shape (no journalist, contact or summary). ``media_report``
adds time to notify, time to acknowledge, who spoke and whether the protocol was followed
(issue 4 item 6; process.md 6.4 item 5).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot import chat_posts, media_clock
from bot.core import Core
from bot.media import OPEN, case_ref_of, routing_of
from bot.media_routing import ROLE_LABELS, SUBJECTS
from bot.media_statements import latest_statement, pending_signers
from bot.models import Event, MediaEnquiry, MediaStatement, OutboxMessage
from bot.protocol import short_text


def _notified_at(session: Session, enquiry: MediaEnquiry) -> datetime | None:
    sent = session.exec(
        select(func.min(OutboxMessage.sent_at)).where(
            OutboxMessage.idempotency_key == f"media:{enquiry.id}:alert"
        )
    ).first()
    posted = chat_posts.first_posted_at(session, chat_posts.MEDIA, enquiry.id) if enquiry.id else None
    times = [t for t in (sent, posted) if t is not None]
    return min(times) if times else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _seconds(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else int((end - start).total_seconds())


def deviations(core: Core, session: Session, enquiry: MediaEnquiry) -> list[str]:
    """Where handling departed from the protocol; empty when it was followed."""
    media, routing = core.protocol.media, routing_of(enquiry)
    found: list[str] = []
    notified = _notified_at(session, enquiry)
    now = core.clock.now()
    if (notified or now) - enquiry.received_at > media.notify_within:
        found.append(f"press office and business manager not told within {short_text(media.notify_within)}")
    if (enquiry.acknowledged_at or now) - enquiry.received_at > media.acknowledge_within:
        found.append(f"not acknowledged within {short_text(media.acknowledge_within)}")
    if enquiry.spoke and enquiry.spoke != routing.spokesperson.role:
        found.append(
            f"{ROLE_LABELS.get(enquiry.spoke, enquiry.spoke)} spoke; the routing named "
            f"{routing.spokesperson.label}"
        )
    if enquiry.journalist_deadline and (enquiry.responded_at or now) > enquiry.journalist_deadline \
            and enquiry.status != "closed":
        found.append("the journalist's deadline passed without a response")
    released = session.exec(
        select(MediaStatement).where(
            MediaStatement.enquiry_id == enquiry.id, MediaStatement.status == "released"
        )
    ).first()
    if enquiry.responded_at and released is None and routing.output != "agency_statement":
        found.append("answered without a statement signed off in the bot")
    if routing.fallback:
        found.append("the Chair and the Deputy Chair were unavailable: the fallback spoke")
    return found


def enquiry_view(session: Session, core: Core, enquiry: MediaEnquiry) -> dict[str, Any]:
    """What Slack and the list show: no journalist, contact or summary (typed free text)."""
    routing = routing_of(enquiry)
    statement = latest_statement(session, enquiry)
    refused = session.exec(
        select(func.count()).select_from(Event).where(
            Event.kind == "media_action_refused",
            Event.detail["media_id"].as_integer() == enquiry.id,
        )
    ).one()
    return {
        "ref": enquiry.ref,
        "status": enquiry.status,
        "source": enquiry.source,
        "outlet": enquiry.outlet,
        "subject": enquiry.subject,
        "subject_label": SUBJECTS[enquiry.subject],
        "case_ref": case_ref_of(session, enquiry),
        "subject_agency": enquiry.subject_agency,
        "received_at": enquiry.received_at.isoformat(),
        "journalist_deadline": _iso(enquiry.journalist_deadline),
        "routing": routing.to_json(),
        "acknowledged_at": enquiry.acknowledged_at.isoformat() if enquiry.acknowledged_at else None,
        "acknowledged_by": enquiry.acknowledged_by,
        "alerts_repeated": enquiry.alerts_repeated,
        # The acknowledgement and journalist's-deadline clocks (decision 0026): kinds and times only.
        "deadlines": media_clock.views(session, enquiry, core.clock.now()),
        "responded_at": enquiry.responded_at.isoformat() if enquiry.responded_at else None,
        "spoke": enquiry.spoke,
        "statement": None if statement is None else {
            "version": statement.version, "kind": statement.kind, "status": statement.status,
            "approvals": statement.approvals,
            "waiting_for": [n.display for n in pending_signers(enquiry, statement)]
            if statement.status == "draft" else [],
            "released_at": statement.released_at.isoformat() if statement.released_at else None,
        },
        "refused_actions": int(refused),
    }


def media_report(session: Session, core: Core, *, include_closed: bool = True) -> list[dict[str, Any]]:
    """Every enquiry with time to notify, time to acknowledge, who spoke, and whether the
    protocol was followed (issue 4 item 6; process.md 6.4 item 5)."""
    query = select(MediaEnquiry).order_by(col(MediaEnquiry.id))
    if not include_closed:
        query = query.where(col(MediaEnquiry.status).in_(OPEN))
    rows = []
    for enquiry in session.exec(query):
        view = enquiry_view(session, core, enquiry)
        notified = _notified_at(session, enquiry)
        found = deviations(core, session, enquiry)
        view.update({
            "notified_at": notified.isoformat() if notified else None,
            "seconds_to_notify": _seconds(enquiry.received_at, notified),
            "seconds_to_acknowledge": _seconds(enquiry.received_at, enquiry.acknowledged_at),
            "protocol_followed": not found,
            "deviations": found,
        })
        rows.append(view)
    return rows


def media_timeline(session: Session, enquiry: MediaEnquiry) -> list[Event]:
    """The enquiry's audit trail: every event that names it."""
    return list(session.exec(
        select(Event).where(Event.detail["media_id"].as_integer() == enquiry.id)
        .order_by(col(Event.at), col(Event.id))
    ))
