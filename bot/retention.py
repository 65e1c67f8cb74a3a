"""Retention: what will be purged when (``review-bot retention``), and the tick's purge phase
(issue 13 item 2; decision 0030).

The periods are the protocol's ``[retention]`` (bot/retention_policy.py), read when the purge runs,
not frozen per case: a partnership that shortens or lengthens its schedule applies it to what it
already holds. The purge runs under the ``retention`` lease, so two instances never purge at once,
and a class takes at most a batch per tick. Each class that purged anything leaves one audit event
(``retention_purged``: the class and how many, never what); the rows it emptied each keep a
``purgedrecord`` tombstone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import delete, exists, func
from sqlmodel import Session, col, select

from bot import audit, leases
from bot.core import Core
from bot.db import rowcount
from bot.legal_hold import not_held
from bot.models import Case, ChatPost, DoorRequest, InboundMessage, MediaEnquiry, OutboxMessage
from bot.models_retention import CaseClosure
from bot.retention_chat import delete_due_posts
from bot.retention_policy import CLASSES
from bot.retention_purge import (
    BATCH,
    FINISHED,
    Purged,
    empty_inbound,
    empty_leftover_mail,
    empty_outbox,
    not_purged,
    purge_enquiry,
    purge_returns,
    purge_working_file,
    record_closures,
)

log = logging.getLogger(__name__)

LEASE = "retention"
#: ``case.kind`` of a complaint's case (bot.complaints.KIND).
COMPLAINT = "complaint"
#: How long the purge may hold its lease; it is released when the phase ends.
LEASE_FOR = timedelta(minutes=15)


def cutoff(core: Core, key: str, now: datetime) -> datetime:
    """Anchors before this instant are past the class's period: the period ends on a local day
    (Calendar.due_after) and the purge acts after that day."""
    period = core.protocol.retention.period(key)
    day = core.calendar.local_date(core.calendar.shift_back(now, period))
    return core.calendar.start_of_day(day)


def due_on(core: Core, key: str, anchor: datetime) -> datetime:
    """When a record anchored at ``anchor`` is due for the purge (the end of that local day)."""
    return core.calendar.due_after(anchor, core.protocol.retention.period(key))


# --- the candidates of each class, oldest first ------------------------------------------------


def _closed_cases(key: str) -> Any:
    query = (select(CaseClosure.case_id, CaseClosure.closed_at)
             .where(not_purged(key, "case", col(CaseClosure.case_id)), not_held(col(CaseClosure.case_id))))
    if key == "returns_and_chronologies":
        return query
    # A complaint's case is kept for the complaints' period, every other case for the working file's.
    complaint = exists().where(col(Case.id) == col(CaseClosure.case_id), col(Case.kind) == COMPLAINT)
    return query.where(complaint if key == "complaints" else ~complaint)


def _raw_inbound() -> Any:
    return (select(InboundMessage.id, InboundMessage.received_at).where(
        col(InboundMessage.case_id).is_(None), InboundMessage.classification != "media-enquiry",
        col(InboundMessage.classification) != "pending",
        (col(InboundMessage.triage_status).is_(None)) | (col(InboundMessage.triage_status) != "open"),
        not_purged("raw_mail", "inboundmessage", col(InboundMessage.id)),
    ))


def _raw_outbox() -> Any:
    return (select(OutboxMessage.id, OutboxMessage.created_at).where(
        col(OutboxMessage.case_id).is_(None), ~col(OutboxMessage.idempotency_key).startswith("media:"),
        col(OutboxMessage.status).in_(FINISHED),
        not_purged("raw_mail", "outboxmessage", col(OutboxMessage.id)),
    ))


def _closed_enquiries() -> Any:
    return (select(MediaEnquiry.id, MediaEnquiry.closed_at).where(
        MediaEnquiry.status == "closed", col(MediaEnquiry.closed_at).is_not(None),
        not_purged("media_log", "mediaenquiry", col(MediaEnquiry.id)), not_held(col(MediaEnquiry.case_id)),
    ))


def _undeleted_posts() -> Any:
    """Posts of closed cases (anchor: the closure) not yet deleted."""
    return (select(ChatPost.id, CaseClosure.closed_at)
            .join(CaseClosure, col(CaseClosure.case_id) == col(ChatPost.object_id))
            .where(ChatPost.object_kind == "case", col(ChatPost.deleted_at).is_(None),
                   not_held(col(ChatPost.object_id))))


def _media_posts() -> Any:
    return (select(ChatPost.id, MediaEnquiry.closed_at)
            .join(MediaEnquiry, col(MediaEnquiry.id) == col(ChatPost.object_id))
            .where(ChatPost.object_kind == "media", col(ChatPost.deleted_at).is_(None),
                   MediaEnquiry.status == "closed", col(MediaEnquiry.closed_at).is_not(None),
                   not_held(col(MediaEnquiry.case_id))))


def _door_replies() -> Any:
    return select(DoorRequest.id, DoorRequest.created_at)


#: Each held class: its candidate queries (id, anchor) and the anchor column to compare.
def _queries(key: str) -> list[Any]:
    return {
        "case_working_file": lambda: [_closed_cases(key)],
        "complaints": lambda: [_closed_cases(key)],
        "returns_and_chronologies": lambda: [_closed_cases(key)],
        "raw_mail": lambda: [_raw_inbound(), _raw_outbox()],
        "media_log": lambda: [_closed_enquiries()],
        "chat_posts": lambda: [_undeleted_posts(), _media_posts()],
        "door_replies": lambda: [_door_replies()],
    }[key]()


def _due(session: Session, query: Any, before: datetime) -> list[int]:
    anchor = query.selected_columns[1]
    return [row[0] for row in session.execute(query.where(anchor < before).order_by(anchor).limit(BATCH))]


# --- the schedule ------------------------------------------------------------------------------


@dataclass
class ClassSchedule:
    key: str
    period: str
    anchor: str
    held_by_bot: bool
    waiting: int = 0  # records whose period has started (their anchor has happened)
    due_now: int = 0  # of them, past their period (the next purges take them)
    next_due: datetime | None = None  # when the first of the rest is due

    def as_json(self) -> dict[str, Any]:
        return {"class": self.key, "period": self.period, "anchor": self.anchor,
                "held_by_bot": self.held_by_bot, "waiting": self.waiting, "due_now": self.due_now,
                "next_due": self.next_due.isoformat() if self.next_due else None}


def schedule(core: Core) -> list[ClassSchedule]:
    """Per class: how many records wait, how many are due now, when the next one goes. Held cases
    are left out (they go nowhere while held); open cases have not started their period."""
    now = core.clock.now()
    with core.db.transaction() as session:
        record_closures(session, now)  # the anchors, as the purge would record them
        rows = []
        for key, cls in CLASSES.items():
            row = ClassSchedule(key, str(core.protocol.retention.period(key)), cls.anchor, cls.held)
            if cls.held:
                before = cutoff(core, key, now)
                for query in _queries(key):
                    sub = query.subquery()
                    anchor = sub.c[1]
                    count, due, oldest_later = session.execute(select(
                        func.count(), func.count().filter(anchor < before),
                        func.min(anchor).filter(anchor >= before),
                    ).select_from(sub)).one()
                    row.waiting += count
                    row.due_now += due
                    if oldest_later is not None:
                        at = due_on(core, key, oldest_later)
                        row.next_due = min(row.next_due, at) if row.next_due else at
            rows.append(row)
    return rows


# --- the purge ---------------------------------------------------------------------------------


def purge(core: Core) -> dict[str, int]:
    """One bounded purge of every class past its period, under the ``retention`` lease. Returns
    rows purged per class (chat posts: posts deleted); empty when another instance holds the lease."""
    me, now = leases.instance_id(), core.clock.now()
    with core.db.transaction() as session:
        if not leases.acquire(session, LEASE, me, now, LEASE_FOR):
            return {}
    done: dict[str, int] = {}
    try:
        with core.db.transaction() as session:
            record_closures(session, now)
        for key, run in (("case_working_file", purge_working_file),
                         ("complaints", partial(purge_working_file, record_class="complaints")),
                         ("returns_and_chronologies", purge_returns), ("media_log", purge_enquiry)):
            done[key] = _purge_each(core, key, run)
        done["raw_mail"] = _purge_raw_mail(core)
        done["door_replies"] = _delete_door_replies(core)
        done["chat_posts"] = delete_due_posts(core, _due_posts(core))
    finally:
        with core.db.transaction() as session:
            leases.release(session, LEASE, me)
    return {k: v for k, v in done.items() if v}


def _purge_each(core: Core, key: str, run: Callable[[Session, Core, int], Purged]) -> int:
    now = core.clock.now()
    total = Purged()
    with core.db.transaction() as session:
        for object_id in _due(session, _queries(key)[0], cutoff(core, key, now)):
            part = run(session, core, object_id)
            total.add(part)
            total.objects += part.objects
        if key in ("case_working_file", "complaints"):
            leftover = empty_leftover_mail(session, now, key)
            total.add(leftover)
            total.objects += leftover.objects
        _audit(session, core, key, total)
    _delete_files(core, total.files)
    return total.rows


def _purge_raw_mail(core: Core) -> int:
    now = core.clock.now()
    before = cutoff(core, "raw_mail", now)
    with core.db.transaction() as session:
        inbound_ids = _due(session, _raw_inbound(), before)
        outbox_ids = _due(session, _raw_outbox(), before)
        inbound = list(session.exec(select(InboundMessage).where(col(InboundMessage.id).in_(inbound_ids))))
        outbox = list(session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(outbox_ids))))
        total = empty_inbound(session, now, "raw_mail", inbound, None)
        total.add(empty_outbox(session, now, "raw_mail", outbox, None))
        total.objects = len(inbound) + len(outbox)
        _audit(session, core, "raw_mail", total)
    _delete_files(core, total.files)
    return total.rows


def _delete_door_replies(core: Core) -> int:
    """Deleted, not emptied: a replay after the period acts as a new request, which is what a
    request that old is (bot.doors). No tombstone: nothing of the row stays to mark."""
    with core.db.transaction() as session:
        ids = _due(session, _door_replies(), cutoff(core, "door_replies", core.clock.now()))
        if not ids:
            return 0
        gone = rowcount(session.execute(delete(DoorRequest).where(col(DoorRequest.id).in_(ids))))
        _audit(session, core, "door_replies", Purged(rows=gone, objects=gone))
    return gone


def _due_posts(core: Core) -> list[int]:
    before = cutoff(core, "chat_posts", core.clock.now())
    with core.db.session() as session:
        ids = [i for q in _queries("chat_posts") for i in _due(session, q, before)]
        if not ids:
            return []
        # The least tried first: a post that keeps failing does not hold up the others.
        ordered = session.execute(select(ChatPost.id).where(col(ChatPost.id).in_(ids))
                                  .order_by(col(ChatPost.delete_attempts), col(ChatPost.id)).limit(BATCH))
        return [int(i) for i in ordered.scalars()]


def _audit(session: Session, core: Core, key: str, total: Purged) -> None:
    if total.objects:
        # The class and the counts only: never what was purged (privacy, DEVELOPERS.md).
        audit.record(session, at=core.clock.now(), actor=audit.SYSTEM, kind="retention_purged",
                     record_class=key, objects=total.objects, rows=total.rows, files=len(total.files))


def _delete_files(core: Core, names: list[str]) -> None:
    """After the commit: a crash before this leaves files no row names, which the hourly orphan
    sweep (bot.inbound.sweep_orphan_attachments) deletes."""
    for name in names:
        try:
            (Path(core.attachments_dir) / name).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("retention: could not delete a purged attachment file (%s)", type(exc).__name__)
