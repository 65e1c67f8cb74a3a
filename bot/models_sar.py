"""Safeguarding adults reviews and complaints (issue 12 item 5; decision 0028).

Each is a ``case`` row of its own kind (``case.kind`` "sar" or "complaint"), so it has a
reference, an audit trail, clocks with owners (``deadline``) and a card like any case; these
tables hold what only that kind has. A complainant's name and contact are identifying: they live
here and in the response draft a person sends, never in a chat post, an audit detail or a log line.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from bot.at_rest_types import sealed_text
from bot.db import UTCDateTime


def _dt() -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime()))


class SarReview(SQLModel, table=True):
    """A SAR referral and what the screening panel and the Independent Chair made of it."""

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    #: When the request was received: D-S1 runs from here (STK l.256).
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    #: mandatory (Care Act 2014 s.44(1)-(3)) | discretionary (s.44(4)) | None: not yet screened.
    basis: str | None = None
    screening_held_at: datetime | None = _dt()
    #: The screening panel's recommendation: sar | no-sar | other-learning (STK l.174).
    recommendation: str | None = None
    recommendation_sent_at: datetime | None = _dt()
    #: The Independent Chair's decision (STK l.77, l.260): sar | no-sar | other-learning.
    decision: str | None = None
    decided_at: datetime | None = _dt()
    #: Report and learning available (STK l.141); published only if the board so decides (l.398).
    completed_at: datetime | None = _dt()
    published_at: datetime | None = _dt()


class Complaint(SQLModel, table=True):
    """A complaint about a review decision, its process or its outcome (STK l.420-427)."""

    case_id: int = Field(foreign_key="case.id", primary_key=True)
    #: The case complained about, if any (the legal hold of that case: bot.complaints).
    about_case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    #: decision | process | outcome | general (STK l.420).
    about: str = "general"
    received_on: date
    #: Identifying: the draft response and `complaint show` only, never chat or logs.
    complainant_name: str = sealed_text("complaint.complainant_name", nullable=False)
    complainant_contact: str = sealed_text("complaint.complainant_contact", default="", nullable=False)
    responded_on: date | None = None
    #: When the complainant contacted the Board Business Manager: D-C2 runs from here (STK l.425).
    escalated_on: date | None = None
    chair_responded_on: date | None = None
    #: Whether the complainant went on to the Ombudsman (reported, process.md 8 item 9).
    ombudsman_referred: bool = False
