"""The local review of a case (issue 12; process.md L1 to E2): how it is run and by whom.

One row per case, created when the review is commissioned (or on first use, for a case that
reached the local review before this table existed). Its clocks are ``deadline`` rows with an
owner (bot.review_clocks); its stage is the case's.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from bot.at_rest_types import sealed_text
from bot.db import UTCDateTime


class LocalReview(SQLModel, table=True):
    case_id: int = Field(foreign_key="case.id", primary_key=True)
    #: learning-event (Kirklees, KIR l.207-308) | imr (Stockport, STK l.313-323) | other
    #: (action learning, peer review, thematic, single agency, desktop: STK l.325-331).
    methodology: str = "learning-event"
    #: The lead reviewer (KIR l.213-234): chased for the first draft and the amendments. Their
    #: email is a work address, never posted in chat (process.md 8.4).
    reviewer_name: str | None = sealed_text("localreview.reviewer_name")
    reviewer_email: str | None = sealed_text("localreview.reviewer_email")
    #: When the terms of reference were agreed (process.md 7.5); the document itself is not kept.
    tor_agreed_on: date | None = None
    commissioned_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    commissioned_by: str | None = None
    #: How many practitioner learning events were held (D-08 runs from the last, KIR l.267).
    learning_events: int = 0
    #: A target date for a methodology without fixed timers (process.md A1, STK l.325-331).
    target_date: date | None = None
