"""Files sent with an outbox message (the partnership's templates attached to a request).

The bytes are copied when the message is queued, so a resend after a crash carries exactly what
the first attempt did, whatever happened to the file on disk meanwhile (decision 0023)."""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.at_rest_types import sealed_bytes, sealed_text


class OutboxAttachment(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("outbox_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outboxmessage.id", index=True)
    position: int
    filename: str = sealed_text("outboxattachment.filename", nullable=False)
    content_type: str
    content: bytes = sealed_bytes("outboxattachment.content", compress=True)
