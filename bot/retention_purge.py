"""What the purge does to each class of record (issue 13 item 2; decision 0030).

Each function takes one bounded batch of what is past its period, empties or deletes it in the
caller's transaction, leaves a :class:`~bot.models_retention.PurgedRecord` per row and returns the
rows touched and the attachment files to delete once the transaction has committed. What stays is
the skeleton a report needs: references, stages, dates, decisions, agencies, counts, the audit
trail. Nothing of a held case is touched (bot.legal_hold.not_held), and a case is claimed (locked)
before its rows are, so a hold set at the same moment waits for the purge or stops it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, or_, update
from sqlmodel import Session, col, select

from bot import audit, leases
from bot.core import Core
from bot.db import rowcount
from bot.legal_hold import not_held
from bot.models import (
    AgencyRequest,
    Attachment,
    Case,
    Event,
    InboundMessage,
    MediaEnquiry,
    MediaStatement,
    OutboxMessage,
)
from bot.models_actions import NonPublication, ReviewAction
from bot.models_chronology import ChronologyEvent
from bot.models_outbox import OutboxAttachment
from bot.models_retention import CaseClosure, PurgedRecord
from bot.models_review import LocalReview
from bot.models_sar import Complaint
from bot.stages import CLOSED_STAGES

#: The most cases, enquiries or messages one class purges in one tick (bounded work).
BATCH = 100
#: What an emptied name or subject reads afterwards.
PURGED = "purged"
#: Outbox messages that are done with (a pending one is left for delivery to finish or cancel).
FINISHED = ("sent", "cancelled", "unconfirmed")


@dataclass
class Purged:
    rows: int = 0
    objects: int = 0  # cases, enquiries or messages
    files: list[str] = field(default_factory=list)  # stored attachment names to delete

    def add(self, other: Purged) -> None:
        self.rows += other.rows
        self.files += other.files


def tombstone(session: Session, now: datetime, record_class: str, table: str, row_id: int | None,
              case_id: int | None) -> None:
    assert row_id is not None
    session.add(PurgedRecord(record_class=record_class, table_name=table, row_id=row_id, case_id=case_id,
                             purged_at=now))


def not_purged(record_class: str, table: str, id_column: Any) -> Any:
    return ~exists().where(
        col(PurgedRecord.record_class) == record_class, col(PurgedRecord.table_name) == table,
        col(PurgedRecord.row_id) == id_column,
    )


# --- anchors -----------------------------------------------------------------------------------


def record_closures(session: Session, now: datetime) -> int:
    """Give every closed case its closure time (the anchor), a batch at a time: the time of the
    last ``stage_changed`` event that closed it (the case's last update if there is none)."""
    closed = [s.value for s in CLOSED_STAGES]
    cases = list(session.exec(
        select(Case).where(col(Case.stage).in_(closed),
                           ~exists().where(col(CaseClosure.case_id) == col(Case.id)))
        .order_by(col(Case.id)).limit(BATCH * 5)
    ))
    if not cases:
        return 0
    when = {c.id: c.updated_at for c in cases}
    for event in session.exec(
        select(Event).where(col(Event.case_id).in_(list(when)), Event.kind == "stage_changed")
        .order_by(col(Event.at), col(Event.id))
    ):
        if (event.detail or {}).get("to") in closed:
            when[event.case_id] = event.at
    for case_id, at in when.items():
        assert case_id is not None
        session.add(CaseClosure(case_id=case_id, closed_at=at))
    session.flush()
    return len(when)


# --- the parts of a case -----------------------------------------------------------------------


def empty_inbound(session: Session, now: datetime, record_class: str, messages: Sequence[InboundMessage],
                  case_id: int | None) -> Purged:
    """Raw bytes, sender and triage reason (typed when dismissing) gone; attachments' files and
    names gone; the rows, dates and triage status stay."""
    done = Purged()
    ids = [m.id for m in messages]
    if not ids:
        return done
    session.execute(update(InboundMessage).where(col(InboundMessage.id).in_(ids))
                    .values(raw=b"", from_addr="", triage_reason=None))
    attachments = list(session.exec(select(Attachment).where(col(Attachment.inbound_id).in_(ids))))
    done.files = [a.stored_name for a in attachments if a.stored_name]
    session.execute(update(Attachment).where(col(Attachment.inbound_id).in_(ids))
                    .values(stored_name=None, display_name=PURGED, rejected_reason="purged (retention)"))
    for message_id in ids:
        tombstone(session, now, record_class, "inboundmessage", message_id, case_id)
    done.rows = len(ids) + len(attachments)
    return done


def empty_outbox(session: Session, now: datetime, record_class: str, messages: Sequence[OutboxMessage],
                 case_id: int | None, *, addresses: bool = False) -> Purged:
    """Subject and bodies gone (and the attached files' bytes); the recipients stay unless
    ``addresses`` (a journalist's address is part of the media log)."""
    ids = [m.id for m in messages]
    if not ids:
        return Purged()
    # A delivery error is the server's text (bot.outbox): it may quote a recipient's address.
    values: dict[str, Any] = {"subject": PURGED, "body_text": "", "body_html": None, "last_error": None}
    if addresses:
        values |= {"to": [], "cc": []}
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).values(**values))
    files = session.execute(update(OutboxAttachment).where(col(OutboxAttachment.outbox_id).in_(ids))
                            .values(content=b"", filename=PURGED))
    for message_id in ids:
        tombstone(session, now, record_class, "outboxmessage", message_id, case_id)
    return Purged(rows=len(ids) + int(getattr(files, "rowcount", 0) or 0))


def claim_case(session: Session, case_id: int) -> Case | None:
    """The case, locked for this transaction, if it is still under no hold."""
    return leases.claim(session, Case, case_id, not_held(col(Case.id)), wait=True)


def purge_working_file(session: Session, core: Core, case_id: int,
                       record_class: str = "case_working_file") -> Purged:
    """The case's free text, people and mail (not its returns: their own class). A complaint's
    case is the same record under its own class and period (``complaints``, STK l.427)."""
    now = core.clock.now()
    case = claim_case(session, case_id)
    if case is None:
        return Purged()
    case.decision_rationale, case.closed_reason, case.referrer = None, None, PURGED
    done = Purged(rows=1, objects=1)
    review = session.get(LocalReview, case_id)
    if review is not None:
        review.reviewer_name, review.reviewer_email = None, None
        done.rows += 1
    complaint = session.get(Complaint, case_id)  # a complaint's case: the complainant (STK l.427)
    if complaint is not None:
        complaint.complainant_name, complaint.complainant_contact = PURGED, ""
        done.rows += 1
    for action in session.exec(select(ReviewAction).where(ReviewAction.case_id == case_id)):
        action.text, action.notes, action.close_reason = PURGED, [], None  # status and dates stay
        done.rows += 1
    for request in session.exec(select(AgencyRequest).where(AgencyRequest.case_id == case_id,
                                                            col(AgencyRequest.closed_reason).is_not(None))):
        request.closed_reason = None  # why it was withdrawn: typed text; the status and dates stay
        done.rows += 1
    not_published = session.get(NonPublication, case_id)
    if not_published is not None:
        not_published.reasons, not_published.instead = PURGED, None
        done.rows += 1
    mail = list(session.exec(select(InboundMessage).where(
        InboundMessage.case_id == case_id, col(InboundMessage.request_id).is_(None),
        InboundMessage.classification != "media-enquiry",
    )))
    done.add(empty_inbound(session, now, record_class, mail, case_id))
    cancel_queued(session, now, case_id)
    sent = list(session.exec(select(OutboxMessage).where(
        OutboxMessage.case_id == case_id, col(OutboxMessage.status).in_(FINISHED))))
    done.add(empty_outbox(session, now, record_class, sent, case_id))
    tombstone(session, now, record_class, "case", case_id, case_id)
    return done


def cancel_queued(session: Session, now: datetime, case_id: int) -> int:
    """Mail of the case still waiting (e.g. a chaser held for working hours) is cancelled, not sent
    after its file is gone: its reason is gone, the case is closed (bot.reasons). One a delivery
    has claimed ("sending") cannot be stopped; it is emptied once it has finished
    (:func:`empty_leftover_mail`)."""
    queued = list(session.exec(select(OutboxMessage.id, OutboxMessage.kind).where(
        OutboxMessage.case_id == case_id, OutboxMessage.status == "pending")))
    cancelled = 0
    for row_id, kind in queued:
        # Only if still pending: a delivery that claimed it meanwhile owns it now.
        if rowcount(session.execute(update(OutboxMessage).where(
                col(OutboxMessage.id) == row_id, col(OutboxMessage.status) == "pending")
                .values(status="cancelled", claimed_by=None, lease_until=None))):
            audit.record(session, at=now, actor=audit.SYSTEM, kind="outbox_cancelled", case_id=case_id,
                         outbox_id=row_id, message_kind=kind, reason=f"case:{case_id}")
            cancelled += 1
    return cancelled


def empty_leftover_mail(session: Session, now: datetime, record_class: str) -> Purged:
    """Mail of a case this class has purged that was in flight then and has finished since."""
    case_purged = exists().where(
        col(PurgedRecord.record_class) == record_class, col(PurgedRecord.table_name) == "case",
        col(PurgedRecord.row_id) == col(OutboxMessage.case_id))
    messages = list(session.exec(select(OutboxMessage).where(
        col(OutboxMessage.case_id).is_not(None), col(OutboxMessage.status).in_(FINISHED), case_purged,
        not_purged(record_class, "outboxmessage", col(OutboxMessage.id)),
        not_held(col(OutboxMessage.case_id)),
    ).order_by(col(OutboxMessage.id)).limit(BATCH)))
    done = Purged(objects=len(messages))
    for message in messages:
        done.add(empty_outbox(session, now, record_class, [message], message.case_id))
    return done


def purge_returns(session: Session, core: Core, case_id: int) -> Purged:
    """The agencies' returns as received and the chronology rows read from them."""
    now = core.clock.now()
    if claim_case(session, case_id) is None:
        return Purged()
    mail = list(session.exec(select(InboundMessage).where(
        InboundMessage.case_id == case_id, col(InboundMessage.request_id).is_not(None))))
    done = empty_inbound(session, now, "returns_and_chronologies", mail, case_id)
    rows = session.execute(delete(ChronologyEvent).where(col(ChronologyEvent.case_id) == case_id))
    done.rows += int(getattr(rows, "rowcount", 0) or 0)
    done.objects = 1
    tombstone(session, now, "returns_and_chronologies", "case", case_id, case_id)
    return done


def purge_enquiry(session: Session, core: Core, enquiry_id: int) -> Purged:
    """A closed media enquiry's journalist, contact, words and email (process.md 8.4 item 7)."""
    now = core.clock.now()
    enquiry = session.get(MediaEnquiry, enquiry_id)
    if enquiry is None:
        return Purged()
    if enquiry.case_id is not None and claim_case(session, enquiry.case_id) is None:
        return Purged()  # the case is held
    enquiry.journalist, enquiry.contact, enquiry.summary, enquiry.question = "", "", "", None
    enquiry.closed_reason = None  # typed when closing; the status and closing time stay
    # A released statement's ``released_to`` is the journalist's address (bot.media_statements).
    statements = session.execute(update(MediaStatement).where(col(MediaStatement.enquiry_id) == enquiry_id)
                                 .values(text="", released_to=None))
    done = Purged(rows=1 + int(getattr(statements, "rowcount", 0) or 0), objects=1)
    if enquiry.inbound_id is not None:
        inbound = session.get(InboundMessage, enquiry.inbound_id)
        if inbound is not None:
            done.add(empty_inbound(session, now, "media_log", [inbound], enquiry.case_id))
    # The alert and statements are keyed media:<id>:...; the clock's repeats and reminders are
    # keyed by their deadline row and name the enquiry in their reason (bot.media_chasers).
    sent = list(session.exec(select(OutboxMessage).where(
        or_(col(OutboxMessage.idempotency_key).startswith(f"media:{enquiry_id}:"),
            col(OutboxMessage.reason).contains(f"media:{enquiry_id}:")),
        col(OutboxMessage.status).in_(FINISHED))))
    done.add(empty_outbox(session, now, "media_log", sent, enquiry.case_id, addresses=True))
    tombstone(session, now, "media_log", "mediaenquiry", enquiry_id, enquiry.case_id)
    return done
