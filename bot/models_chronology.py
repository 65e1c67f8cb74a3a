"""The composite chronology's tables (issue 12 item 3; decision 0023).

A chronology return is one agency's email answering its chronology request; its rows are the
events read from its Word tables or Excel sheets. The content is identifying (names, places,
what happened): it lives here and in the files the business unit exports, never in a chat post,
an audit detail or a log line.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.at_rest_types import sealed_json, sealed_text
from bot.db import UTCDateTime


class ChronologyReturn(SQLModel, table=True):
    """One agency's return as received; read outside the intake's transaction (decision 0010)."""

    __table_args__ = (Index("ix_chronologyreturn_status", "status", "claimed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    request_id: int = Field(foreign_key="agencyrequest.id", index=True)
    agency: str
    inbound_id: int = Field(foreign_key="inboundmessage.id", unique=True)
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    #: pending (to read) | reading (claimed) | valid | invalid
    status: str = "pending"
    attempts: int = 0
    claimed_by: str | None = None
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    read_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    #: A later return from the same agency replaced this one (its rows are gone).
    superseded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    #: What the agency must fix, each {"where", "column", "problem"}: places and rules, never the
    #: text of a cell.
    problems: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    events: int = 0


class ChronologyEvent(SQLModel, table=True):
    """One row of a valid return. ``position`` is its place in the return in time order (a
    return written newest first is counted from its end), the tie-break after the agency."""

    __table_args__ = (UniqueConstraint("return_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    return_id: int = Field(foreign_key="chronologyreturn.id", index=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    agency: str
    position: int
    #: Where the agency can find it: "sheet 'Chronology' row 12", "table 2 row 5".
    place: str
    #: The earliest and latest day the date can mean (equal for an exact date).
    date_from: date
    date_to: date
    approximate: bool = False
    #: The date as the composite shows it ("03/03/2019", "May 2019", "Spring 2019", "c. 2018").
    date_label: str
    time: str | None = None  # "14:30"
    source: str = sealed_text("chronologyevent.source", nullable=False)
    event: str = sealed_text("chronologyevent.event", default="", nullable=False)
    outcome: str = sealed_text("chronologyevent.outcome", default="", nullable=False)
    #: The template's other columns (heading -> text), e.g. "Analysis / comment".
    extra: dict[str, str] = sealed_json("chronologyevent.extra")
