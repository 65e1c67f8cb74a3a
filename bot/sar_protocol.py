"""The protocol's ``[sar]`` and ``[complaints]`` tables (process.md 2.5, 2.6; decision 0028).

The defaults are Stockport's combined CSPR/SAR protocol, the only seed that sets these timescales
(seed 004, "STK"); a partnership changes them in its own protocol file. Every written response to
a complaint carries the Ombudsman's details (STK l.425), so they are required and never empty.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from bot.duration import Duration
from bot.protocol_fields import _Strict


def _parse(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise ValueError("a duration is text such as \"28 days\" or \"5 working days\"")
    return Duration.parse(value)


class Sar(_Strict):
    """A safeguarding adults review's clocks (Care Act 2014 s.44; STK l.254-266)."""

    #: D-S1: the screening meeting "within 15 working days of the request being received" (STK l.256).
    screening_meeting: Duration = Duration(15, "working_days")
    #: D-S2: conclusions and recommendations in writing to the Independent Chair within 5 working
    #: days of the meeting (STK l.258).
    recommendation: Duration = Duration(5, "working_days")
    #: D-S3: the Independent Chair decides within 5 working days (STK l.260, l.183), counted from
    #: receiving the recommendation (process.md D-S3, inferred anchor).
    chair_decision: Duration = Duration(5, "working_days")
    #: D-S4: report and learning available within 6 months of the decision (STK l.141, l.266;
    #: Care and Support Statutory Guidance ch. 14).
    review: Duration = Duration(6, "months")

    @field_validator("*", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Duration:
        return _parse(value)


class Ombudsman(_Strict):
    """Who a complainant may go to after the partnership's responses (STK l.425)."""

    name: str = Field(default="Local Government and Social Care Ombudsman", min_length=1, max_length=200)
    website: str = Field(default="https://www.lgo.org.uk", min_length=1, max_length=200)
    phone: str = Field(default="0300 061 0614", min_length=1, max_length=50)

    @field_validator("name", "website", "phone")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("every written complaint response carries it (STK l.425): it cannot be blank")
        return value.strip()


class Complaints(_Strict):
    """Complaints about a review decision, its process or its outcome (STK l.418-427)."""

    #: D-C1: "a written response within 28 days of receipt" (STK l.420). The seed says days, not
    #: working days: calendar days (process.md 2.6).
    response: Duration = Duration(28, "days")
    #: D-C2: the Independent Chair's further written response "within 28 days of the complainant
    #: contacting the Board Business Manager" (STK l.425): anchored on that contact, not on the
    #: first response.
    escalated_response: Duration = Duration(28, "days")
    ombudsman: Ombudsman = Ombudsman()

    @field_validator("response", "escalated_response", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Duration:
        return _parse(value)


#: The names the two tables' durations are frozen under in a case's terms (bot.deadlines).
SAR_TERMS = {"sar_screening_meeting": "screening_meeting", "sar_recommendation": "recommendation",
             "sar_chair_decision": "chair_decision", "sar_review": "review"}
COMPLAINT_TERMS = {"complaint_response": "response", "complaint_escalated_response": "escalated_response"}


def frozen_terms(protocol: Any) -> dict[str, Any]:
    """What a SAR or a complaint freezes when it opens (architecture rule 7): the protocol's terms
    with the [sar] and [complaints] durations added under their deadline names."""
    terms = protocol.terms()
    durations = dict(terms["durations"])
    durations.update({name: str(getattr(protocol.sar, field)) for name, field in SAR_TERMS.items()})
    durations.update({name: str(getattr(protocol.complaints, field))
                      for name, field in COMPLAINT_TERMS.items()})
    return {**terms, "durations": durations}
