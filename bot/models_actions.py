"""The action plan of a review and the decision not to publish it (issue 12 items 4 and 6;
decision 0027).

An action answers a recommendation of the review and is owned by one agency (process.md 7.8). Its
text may identify people or places, so it is free text: it lives here, in the CLI's listing and in
the drafts a person sends; a chat post, an audit detail or a log line carries its number, agency,
status and dates only. Its due date is a ``deadline`` row owed by the agency (``deadline_id``),
chased like every other owned clock (bot.owner_clocks).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.at_rest_types import sealed_json, sealed_text
from bot.db import UTCDateTime


class ReviewAction(SQLModel, table=True):
    """One action of a case's action plan. Statuses: bot.action_plan.STATUSES."""

    __table_args__ = (UniqueConstraint("case_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    #: The action's number within the case (1, 2, ...): the reference people and chats use.
    number: int
    #: The recommendation of the report it answers (its number in the report), if given.
    recommendation: int | None = None
    #: The owner agency (a protocol slug): chased for it.
    agency: str
    #: The action itself (SMART, KIR l.276). Free text: never in chat or logs.
    text: str = sealed_text("reviewaction.text", nullable=False)
    #: The target date. None: 12 weeks after publication ([durations] actions_due, D-14), not yet
    #: known because the review is not yet published.
    due_on: date | None = None
    #: Whether ``due_on`` was set for this action rather than taken from publication.
    due_set: bool = False
    #: A larger piece of work: a longer timescale, reported to the partnership separately
    #: (KIR l.276).
    larger: bool = False
    #: open | in_progress | evidence_submitted | verified | not_achieved | superseded
    status: str = "open"
    #: Progress and evidence notes, each {"at", "by", "kind": progress|evidence, "note"}. Free text.
    notes: list[dict[str, Any]] = sealed_json("reviewaction.notes", default_factory=list)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str
    submitted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    #: Stage 4 of STK App 3: the QA group verified the evidence and its impact measure.
    verified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    verified_by: str | None = None
    #: Closed without being achieved, or replaced by another action; the reason is kept for the
    #: annual report (STK l.394). Free text.
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    closed_by: str | None = None
    close_reason: str | None = sealed_text("reviewaction.close_reason")
    #: The running clock of its due date, owned by the agency (NULL until the date is known).
    deadline_id: int | None = Field(default=None, foreign_key="deadline.id")


class NonPublication(SQLModel, table=True):
    """The partners' decision not to publish a review's report (KIR l.316, l.320; Working
    Together 2023 ch. 5): the reasons go to the National Panel and the Secretary of State."""

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    decided_on: date
    #: Why not. Free text: in the draft notice only.
    reasons: str = sealed_text("nonpublication.reasons", nullable=False)
    #: What is published instead (improvement information, a learning summary: KIR l.320). Free text.
    instead: str | None = sealed_text("nonpublication.instead")
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    recorded_by: str
