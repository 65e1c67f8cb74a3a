"""Inbound mail as records: each message stored once under its Message-ID, its attachments
kept under generated names, and the triage list of what a person must look at.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import QueryableAttribute, defer, make_transient_to_detached
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from bot import agency_requests, audit
from bot.at_rest import keyring_of
from bot.at_rest_files import attachment_context
from bot.cases import get_case
from bot.core import Core
from bot.errors import NotFound, Refused, ServiceError
from bot.models import Attachment, InboundMessage

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Bidi embeddings/overrides/isolates and zero-width marks (Unicode TR9; all category Cf, listed
#: for the reader): "invoice\u202efdp.exe" would show as "invoiceexe.pdf".
_FORMAT = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


#: Header lines written on the way, which differ between two deliveries of one message (the
#: eml corpus's fixture 9b: the same message again through a second MX), with their folded
#: lines. One pass of the regex engine: a literal name at a line start, then whole lines.
_TRANSPORT = re.compile(
    rb"^(?:received(?:-spf)?|return-path|delivered-to|x-original-to|authentication-results|x-received"
    rb"|(?:arc-|x-ms-exchange-|x-spam|x-virus|x-forefront-|x-microsoft-antispam|x-ms-office365-)"
    rb"[!-9;-~]*)[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*\n?",
    re.IGNORECASE | re.MULTILINE,
)


def digest_of(raw: bytes) -> str:
    """SHA-256 (hex) of the message as its author sent it: the header block without the lines
    written on the way (:data:`_TRANSPORT`, line endings made LF), then the body as it is (one
    gateway always gives one message the same line endings; hashing a 20 MB body is not worth
    a copy). Linear in ``raw``."""
    end = raw.find(b"\n\r\n") if b"\r\n" in raw[:200] else -1
    end = end if end >= 0 else raw.find(b"\n\n")
    head, body = (raw, b"") if end < 0 else (raw[:end + 1], memoryview(raw)[end + 1:])
    digest = hashlib.sha256(_TRANSPORT.sub(b"", head.replace(b"\r\n", b"\n")))
    digest.update(body)
    return digest.hexdigest()


def synthetic_message_id(raw: bytes, digest: str | None = None) -> str:
    """For a message without a Message-ID: the same message always gives the same id, also when
    a second relay added its own Received lines (see :func:`digest_of`)."""
    return f"<sha256-{(digest or digest_of(raw))[:40]}@review-bot.invalid>"


def reused_message_id(digest: str) -> str:
    """The id a message is kept under when its Message-ID is an earlier message's and its bytes
    are not: derived from the bytes, so the same message delivered twice is still one row."""
    return f"<reused-{digest[:40]}@review-bot.invalid>"


#: ``session.info`` key: rows a batch recorded in one INSERT before acting on any of its messages,
#: by Message-ID (bot/inbound_batch.py), each taken by :func:`record_message` when its turn comes.
RECORDED_FIRST = "inbound.recorded_first"


@dataclass
class Recorded:
    row: InboundMessage
    #: new to act on (or a row left ``pending`` by a run that died before acting)
    fresh: bool
    #: the earlier row whose Message-ID this message reuses with other bytes
    reuses: int | None = None


def record_message(
    session: Session, core: Core, *, message_id: str, raw: bytes, mailbox: str, from_addr: str,
    digest: str | None = None,
) -> Recorded:
    """:func:`record_inbound`, and a reused Message-ID with other bytes kept as its own message.

    The bytes decide, not the id (issue 9 item 3): a second message under an earlier id is
    recorded under :func:`reused_message_id` and ``reuses`` names the earlier row.
    """
    plain = digest or digest_of(raw)
    digest = keyed_digest(session, plain)
    recorded_first: dict[str, InboundMessage] = session.info.get(RECORDED_FIRST, {})
    row = recorded_first.pop(message_id, None)
    if row is not None:  # recorded with its batch (bot/inbound_batch.py); its bytes go in now
        row.raw = raw
        return Recorded(row, True)
    row, fresh = record_inbound(session, core, message_id=message_id, raw=raw, mailbox=mailbox,
                                from_addr=from_addr, digest=digest)
    assert row is not None
    if fresh or _digest(session, row) == digest:
        return Recorded(row, fresh)
    again, fresh = record_inbound(session, core, message_id=reused_message_id(plain), raw=raw,
                                  mailbox=mailbox, from_addr=from_addr, digest=digest)
    assert again is not None
    return Recorded(again, fresh, reuses=row.id)


def _digest(session: Session, row: InboundMessage) -> str:
    """The row's digest; rows recorded before the column existed are hashed from their bytes."""
    if row.digest is None:
        raw = session.exec(select(InboundMessage.raw).where(InboundMessage.id == row.id)).one()
        return keyed_digest(session, digest_of(raw))
    return row.digest


def keyed_digest(session: Session, digest: str) -> str:
    """What ``inboundmessage.digest`` holds: the digest under the database's lookup key (HMAC),
    so the column cannot confirm a guessed message to someone without the key (decision 0029)."""
    return keyring_of(session.get_bind()).lookup_hash(digest)


def record_inbound(
    session: Session, core: Core, *, message_id: str, raw: bytes, mailbox: str, from_addr: str,
    digest: str | None = None,
) -> tuple[InboundMessage | None, bool]:
    """Record the message unless its Message-ID is known. Returns (row, is_new_to_act_on).

    The caller acts in the same transaction, so a message is recorded and acted on together or
    not at all (a crash leaves it in the mailbox to be read again). A row still ``pending`` was
    left by a run that died between recording and acting: it is acted on again.
    """
    inbound = InboundMessage(
        message_id=message_id, mailbox=mailbox, received_at=core.clock.now(),
        from_addr=from_addr, classification="pending", raw=b"", digest=digest,
    )
    if not _insert_unless_known(session, inbound):
        existing = session.exec(
            select(InboundMessage.id, InboundMessage.classification)
            .where(InboundMessage.message_id == message_id)
        ).first()
        if existing is not None:
            row_id, classification = existing
            # SQLModel types the field as its value; on the class it is the mapped attribute.
            raw_column = cast(QueryableAttribute[bytes], InboundMessage.raw)
            row = session.get(InboundMessage, row_id, options=[defer(raw_column)])
            return row, classification == "pending"
        # New (a database without INSERT ... ON CONFLICT, or a concurrent writer's row rolled
        # back): the unit of work inserts it; a concurrent insert of the same Message-ID fails
        # here (unique index) and the intake treats it as a duplicate.
        session.add(inbound)
        session.flush()
    # The bytes go in with the row's last UPDATE, when this same transaction commits: SQLite
    # rewrites a whole row on any UPDATE, so a blob inserted here would be written twice once the
    # routing sets the classification. Nothing outside the transaction ever sees the row without
    # them, and a crash before the commit leaves no row at all (docs/benchmarks.md).
    inbound.raw = raw
    return inbound, True


def _insert_unless_known(session: Session, inbound: InboundMessage) -> bool:
    """INSERT the row in one statement, unless its Message-ID is known; then it is in the session
    as a persistent row. False when the Message-ID is known (to us or a concurrent writer)."""
    statement = insert_statement(session.get_bind().dialect.name)
    if statement is None:
        return False  # no INSERT ... ON CONFLICT here: the caller looks it up, then inserts
    row_id = session.connection().execute(statement, inserted_values(inbound)).scalar()
    if row_id is None:
        return False
    inbound.id = row_id
    make_transient_to_detached(inbound)  # what was inserted is its loaded state
    session.add(inbound)
    return True


def inserted_values(inbound: InboundMessage) -> dict[str, Any]:
    """The new row's values for :func:`insert_statement` (every column but the id)."""
    return {c.key: getattr(inbound, c.key) for c in InboundMessage.__table__.columns if c.key != "id"}  # type: ignore[attr-defined]


@cache
def insert_statement(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (message_id) DO NOTHING RETURNING id, message_id``, built once;
    None where the database has no such statement."""
    inserts: dict[str, Callable[..., PgInsert | SqliteInsert]] = {
        "sqlite": sqlite_insert, "postgresql": postgresql_insert,
    }
    insert = inserts.get(dialect)
    if insert is None:
        return None
    table = InboundMessage.__table__  # type: ignore[attr-defined]
    return (
        insert(table).on_conflict_do_nothing(index_elements=["message_id"])
        .returning(table.c.id, table.c.message_id)
    )


#: What routing a message writes on its row. All of them go in its UPDATE, changed or not, so
#: the rows of a batch, routed different ways, share one statement shape and the commit writes
#: them in one executemany instead of one statement per combination (bot/inbound_batch.py).
ROUTED_COLUMNS = ("raw", "classification", "case_id", "agency", "request_id", "triage_status",
                  "triage_reason")


def routed(inbound: InboundMessage, classification: str) -> None:
    """The message has been acted on: its classification, and its row's routed columns to write."""
    inbound.classification = classification
    for name in ROUTED_COLUMNS:
        if name in inbound.__dict__:  # ``raw`` is not loaded on a row re-acted on (left pending)
            flag_modified(inbound, name)


def safe_display_name(name: str | None) -> str:
    """A file name fit to show: no folders, no control characters, not hidden, not too long."""
    name = _CONTROL.sub("", strip_format_controls(name or ""))
    name = re.split(r"[\\/]", name)[-1].strip().lstrip(".").strip()
    return name[:150] or "attachment"


def strip_format_controls(text: str) -> str:
    """``text`` without Unicode format characters (category Cf: bidi controls, zero-width
    marks, BOM), which make a name read as something it is not."""
    text = _FORMAT.sub("", text)
    if text.isascii():
        return text
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


@dataclass(frozen=True)
class InboundAttachment:
    """One attachment as the message carries it (decoded): the sender's name for it, its type."""

    filename: str | None
    content_type: str
    payload: bytes
    #: None for a document; "signature" or "message" (see Attachment.role)
    role: str | None = None


@dataclass
class StoredAttachments:
    #: documents stored (what an agency return counts); signatures and attached messages apart
    stored: int = 0
    rejected: int = 0
    other: int = 0


def store_attachments(
    session: Session, core: Core, inbound: InboundMessage, attachments: Iterable[InboundAttachment]
) -> StoredAttachments:
    """Keep each attachment under a generated name; the sender's file name is only shown."""
    counts = StoredAttachments()
    assert inbound.id is not None  # recorded before anything acts on it
    folder = Path(core.attachments_dir)
    for attachment in attachments:
        payload = attachment.payload
        display = safe_display_name(attachment.filename)
        content_type = attachment.content_type
        if len(payload) > core.attachment_max_bytes:
            session.add(Attachment(
                inbound_id=inbound.id, display_name=display, content_type=content_type,
                size=len(payload), role=attachment.role,
                rejected_reason=f"larger than the {core.attachment_max_bytes} byte limit; "
                "the original stays in the mailbox",
            ))
            counts.rejected += 1
            continue
        folder.mkdir(parents=True, exist_ok=True)
        stored_name = uuid.uuid4().hex
        # Sealed like the database's columns; the file's name is its associated data (0029).
        sealed = keyring_of(session.get_bind()).seal(payload, attachment_context(stored_name), compress=True)
        (folder / stored_name).write_bytes(sealed)
        session.add(Attachment(
            inbound_id=inbound.id, stored_name=stored_name, display_name=display,
            content_type=content_type, size=len(payload), role=attachment.role,
        ))
        if attachment.role is None:
            counts.stored += 1
        else:
            counts.other += 1
    return counts


#: A file this old with no Attachment row was written by an intake that never committed.
ORPHAN_AGE = timedelta(hours=1)
#: Touched by each sweep: its time is the filesystem's "now" (stored attachments are hex names).
SWEEP_MARK = ".sweep-mark"


def sweep_orphan_attachments(core: Core) -> int:
    """Delete files in the attachments folder older than :data:`ORPHAN_AGE` that no Attachment
    row names: an intake writes a file before its transaction commits, and a crash or rollback
    in between leaves the file behind. Returns how many were deleted."""
    folder = Path(core.attachments_dir)
    if not folder.is_dir():
        return 0
    # Files carry the filesystem's times, not the bot's clock (a one-shot `tick --now <a future
    # moment>` would otherwise delete a running intake's uncommitted files): the cutoff is read
    # from the filesystem too, as the time of a mark file touched now.
    mark = folder / SWEEP_MARK
    mark.touch()
    cutoff = mark.stat().st_mtime - ORPHAN_AGE.total_seconds()
    old: list[str] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):  # the marks (this sweep's, bot.at_rest_files'), never attachments
                continue
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                old.append(entry.name)
    deleted = 0
    with core.db.session() as session:
        for start in range(0, len(old), 500):
            batch = old[start:start + 500]
            known = set(session.exec(
                select(Attachment.stored_name).where(col(Attachment.stored_name).in_(batch))
            ))
            for name in batch:
                if name not in known:
                    (folder / name).unlink(missing_ok=True)
                    deleted += 1
    return deleted


def attachments_of(session: Session, inbound_id: int) -> list[Attachment]:
    return list(session.exec(select(Attachment).where(Attachment.inbound_id == inbound_id)))


# --- the triage list ---------------------------------------------------------------------


def hold_for_triage(inbound: InboundMessage, reason: str) -> None:
    inbound.triage_status = "open"
    inbound.triage_reason = reason


def triage_items(session: Session) -> list[InboundMessage]:
    return list(
        session.exec(
            select(InboundMessage)
            .where(InboundMessage.triage_status == "open")
            .order_by(col(InboundMessage.received_at), col(InboundMessage.id))
        )
    )


def _open_item(session: Session, item_id: int) -> InboundMessage:
    item = session.get(InboundMessage, item_id)
    if item is None:
        raise NotFound(f"no triage item {item_id}; 'review-bot triage' lists them")
    if item.triage_status != "open":
        raise Refused(f"triage item {item_id} is already {item.triage_status}")
    return item


def assign_triage(
    session: Session, core: Core, item_id: int, *, ref: str, agency: str, kind: str | None,
    actor: str,
) -> None:
    """A person confirms what the bot could not: this message is that agency's return."""
    item = _open_item(session, item_id)
    case = get_case(session, ref)
    core.protocol.agency(agency)
    request = agency_requests.get_request(session, case, agency, kind)
    agency_requests.record_return(
        session, core, request, actor=actor, via="email (confirmed in triage)",
        inbound_id=item_id, attachments=len(attachments_of(session, item_id)),
    )
    item.triage_status = "assigned"
    item.classification = "agency-return"
    item.case_id, item.agency, item.request_id = case.id, agency, request.id
    audit.record(
        session, at=core.clock.now(), actor=actor, kind="triage_assigned", case_id=case.id,
        inbound_id=item.id, agency=agency,
    )


def dismiss_triage(session: Session, core: Core, item_id: int, *, reason: str, actor: str) -> None:
    if not reason.strip():
        raise ServiceError("a reason is required to dismiss a triage item")
    item = _open_item(session, item_id)
    item.triage_status = "dismissed"
    item.triage_reason = f"{item.triage_reason}; dismissed by {actor}: {reason.strip()}"
    audit.record(
        session, at=core.clock.now(), actor=actor, kind="triage_dismissed", case_id=item.case_id,
        inbound_id=item.id,
    )
