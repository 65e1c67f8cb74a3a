"""The partnership's report (issue 14): tags on a case and the monthly summary's once-a-month row.

Themes are a multi-select (Sandwell's table of emerging themes, seed 002 l.172-183); the review
outcomes are single-valued facts the bot cannot derive from dates: whether the National Panel
concurred with the panel's decision (seed 002 l.41, "18 of the 20") and how a local review was
published (in full, learning only, not published: process.md 9.1's exhaustive status list).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime


class CaseTag(SQLModel, table=True):
    """One tag on one case: ``kind`` theme (many per case) or an outcome kind (one per case)."""

    __table_args__ = (UniqueConstraint("case_id", "kind", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    kind: str  # theme | panel | publication
    value: str
    tagged_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    tagged_by: str


class MonthlySummary(SQLModel, table=True):
    """The business unit's monthly summary, one row per month: the primary key makes it once
    across instances (two ticks, two processes: the second insert fails and posts nothing)."""

    month: str = Field(primary_key=True, max_length=7)  # "2026-12"
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    #: Aggregate counts only (never a reference, a name or typed text: process.md 8.4 item 9).
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
