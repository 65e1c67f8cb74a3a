"""Retention, legal hold and the access log (issue 13 items 2-4; decision 0030).

Nothing here holds content: a purge leaves a ``purgedrecord`` row naming the class, the table and
the row it emptied (never what it held); a hold names a reason from a fixed list (the free-text
note is kept for the business manager and never posted); the access log names who saw which case
through which door, and what kind of thing they saw.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.at_rest_types import sealed_text
from bot.db import UTCDateTime


class CaseClosure(SQLModel, table=True):
    """When a closed case closed: the anchor of every "after the case closed" retention period.

    Written by the purge phase the first time it meets a closed case (from the case's last
    ``stage_changed`` event), so the periods are a plain comparison in SQL from then on."""

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    closed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class PurgedRecord(SQLModel, table=True):
    """One row the purge emptied or deleted: which retention class, which table and row, when.

    Also the purge's memory: a row with a tombstone is never a candidate again."""

    __table_args__ = (
        UniqueConstraint("record_class", "table_name", "row_id"),
        Index("ix_purgedrecord_case", "case_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    record_class: str  # a key of bot.retention_policy.CLASSES
    table_name: str
    row_id: int
    case_id: int | None = None  # no foreign key: a tombstone outlives nothing, but needs no join
    purged_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class LegalHold(SQLModel, table=True):
    """Nothing of the case is purged while a hold stands (released_at NULL)."""

    __table_args__ = (Index("ix_legalhold_open", "case_id", "released_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    #: criminal | coroner | embargo | complaint | sar-request (bot.legal_hold.REASONS)
    reason: str
    #: The business manager's own words; shown by the CLI only, never in chat or the audit trail.
    note: str | None = sealed_text("legalhold.note")
    set_by: str
    set_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    released_by: str | None = None
    released_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class AccessLog(SQLModel, table=True):
    """Someone saw or exported a case's identifying data (process.md 8.4 item 8)."""

    __table_args__ = (Index("ix_accesslog_case_at", "case_id", "at"), Index("ix_accesslog_at", "at"))

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor: str  # the audit identity (bot.actors.actor_key)
    surface: str  # slack | teams | cli | email | clock
    case_id: int = Field(foreign_key="case.id")
    #: view | chronology-export | draft (bot.access_log.WHAT)
    what: str
    #: Facts about the access: a format, a draft's kind, a file count. Never content.
    detail: str | None = None


class ChatReply(SQLModel, table=True):
    """A thread reply the bot posted under one of its chat posts: deleted with it after the
    retention period (bot.retention_chat), since deleting a Slack parent leaves its replies."""

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="chatpost.id", index=True)
    #: A Slack message ts, a Teams activity id.
    message_id: str
    posted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    deleted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
