"""Files queued with an outbox message (decision 0023): copied in with the message, read back
when it is sent, so every attempt sends the same bytes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from bot.core import Core
from bot.mailer import OutboundFile
from bot.models import OutboxMessage
from bot.models_outbox import OutboxAttachment


def add_files(session: Session, row: OutboxMessage, files: Sequence[OutboundFile]) -> None:
    assert row.id is not None  # inserted
    for position, file in enumerate(files):
        session.add(OutboxAttachment(
            outbox_id=row.id, position=position, filename=file.filename,
            content_type=file.content_type, content=file.content,
        ))


def files_of(core: Core, outbox_id: int | None) -> list[OutboundFile]:
    """The files queued with a message, in order (most have none: one indexed look-up)."""
    with core.db.session() as session:
        rows = session.exec(
            select(OutboxAttachment).where(OutboxAttachment.outbox_id == outbox_id)
            .order_by(col(OutboxAttachment.position))
        )
        return [OutboundFile(r.filename, r.content_type, r.content) for r in rows]
