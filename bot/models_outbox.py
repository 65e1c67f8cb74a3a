"""Files sent with an outbox message (the partnership's templates attached to a request).

The bytes are copied when the message is queued, so a resend after a crash carries exactly what
the first attempt did, whatever happened to the file on disk meanwhile (decision 0023)."""

from __future__ import annotations

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class OutboxAttachment(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("outbox_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outboxmessage.id", index=True)
    position: int
    filename: str
    content_type: str
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
