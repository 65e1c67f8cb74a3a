"""The media protocol's tables (process.md 6): roles, routing rows, outputs and alert timing.

Part of the protocol (:mod:`bot.protocol` re-exports every name here); split out because the
routing table is a subject of its own (decision 0008).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pydantic import Field, field_validator

from bot.protocol_fields import _check_email, _Strict

#: Role keys a media routing row may name; "agency" is the agency the enquiry concerns.
MEDIA_ROLES = (
    "chair", "deputy_chair", "business_manager", "press_office", "executive",
    "communications_lead", "director_of_people", "independent_scrutineer",
)
#: The rows of the routing table (process.md 6.2), by the name the protocol file uses.
MEDIA_ROUTES = {
    "incident": 1, "review": 2, "embargoed": 3, "pre_publication": 4, "published": 5,
    "after_review": 6, "partnership": 7, "inquest": 9, "agency": 10, "general": 11,
    "authorised_agency": 12,
}
MEDIA_OUTPUTS = {
    "holding_statement": "Holding statement",
    "partnership_statement": "Single partnership statement (embargoed press release drafted)",
    "press_release": "Press release",
    "statement_on_actions": "Statement on actions",
    "response": "Partnership response",
    "inquest_statement": "Inquest statement",
    "agency_statement": "Agency statement",
    "joint_communications": "Joint communications",
}
_SHORT = re.compile(r"^\s*(\d+)\s*(minutes?|mins?|hours?|h)\s*$", re.IGNORECASE)


def short_duration(value: Any) -> timedelta:
    """A wall-clock interval for media alerts ("15 minutes", "2 hours"): never working time."""
    if isinstance(value, timedelta):
        return value
    match = _SHORT.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration such as \"15 minutes\" or \"2 hours\"")
    number, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(hours=number) if unit.startswith("h") else timedelta(minutes=number)


def _role_key(value: str) -> str:
    if value not in (*MEDIA_ROLES, "agency"):
        raise ValueError(f"{value!r} is not a role; use one of: {', '.join((*MEDIA_ROLES, 'agency'))}")
    return value


class MediaRoute(_Strict):
    """One row of the routing table: who leads, who speaks, who signs off, what may be said."""

    lead: list[str] = Field(min_length=1)
    speaks: str
    sign_off: list[str] = Field(min_length=1)
    output: str
    source: str = ""
    note: str = ""

    @field_validator("lead", "sign_off")
    @classmethod
    def _roles(cls, values: list[str]) -> list[str]:
        return [_role_key(v) for v in values]

    @field_validator("speaks")
    @classmethod
    def _speaker(cls, value: str) -> str:
        return _role_key(value)

    @field_validator("output")
    @classmethod
    def _output(cls, value: str) -> str:
        if value not in MEDIA_OUTPUTS:
            raise ValueError(f"{value!r} is not an output; use one of: {', '.join(MEDIA_OUTPUTS)}")
        return value

    def roles(self) -> set[str]:
        return {*self.lead, self.speaks, *self.sign_off}


class Media(_Strict):
    """The media protocol (process.md 6): intake address, alert timing and the routing table."""

    #: Mail to this address is a media enquiry (forwarded by an agency, or from a journalist).
    press_address: str | None = None
    #: D-M1: the press office and business manager told "immediately" (target 15 minutes).
    notify_within: timedelta = timedelta(minutes=15)
    #: Unacknowledged alerts repeat this often, to the business manager too.
    acknowledge_within: timedelta = timedelta(minutes=15)
    acknowledge_repeats: int = Field(default=4, ge=1)
    #: Reminders before the journalist's deadline (M-11).
    deadline_reminders: list[timedelta] = Field(
        default_factory=lambda: [timedelta(hours=2), timedelta(minutes=30)]
    )
    #: Who speaks when the Chair is away and there is no Deputy Chair (process.md 6.3, M-4).
    chair_fallback: str = "independent_scrutineer"
    routes: dict[str, MediaRoute] = Field(default_factory=dict)

    @field_validator("press_address")
    @classmethod
    def _press(cls, value: str | None) -> str | None:
        return None if value in (None, "") else _check_email(value)

    @field_validator("notify_within", "acknowledge_within", mode="before")
    @classmethod
    def _short(cls, value: Any) -> timedelta:
        return short_duration(value)

    @field_validator("deadline_reminders", mode="before")
    @classmethod
    def _reminders(cls, values: Any) -> list[timedelta]:
        if not isinstance(values, list):
            raise ValueError("a list such as [\"2 hours\", \"30 minutes\"]")
        return sorted((short_duration(v) for v in values), reverse=True)

    @field_validator("chair_fallback")
    @classmethod
    def _fallback(cls, value: str) -> str:
        # The Deputy Chair is always asked first (SOM l.236); the fallback is for when there is none.
        if value not in MEDIA_ROLES or value in ("chair", "deputy_chair"):
            raise ValueError(f"{value!r} cannot be the fallback for an absent Chair and Deputy Chair")
        return value

    @field_validator("routes")
    @classmethod
    def _all_rows(cls, routes: dict[str, MediaRoute]) -> dict[str, MediaRoute]:
        unknown = sorted(set(routes) - set(MEDIA_ROUTES))
        if unknown:
            raise ValueError(f"unknown routing rows: {', '.join(unknown)}; rows: {', '.join(MEDIA_ROUTES)}")
        missing = [k for k in MEDIA_ROUTES if k not in routes]
        if missing:
            raise ValueError(f"routing rows missing: {', '.join(missing)}")
        return routes


def short_text(value: timedelta) -> str:
    """A media interval as the protocol file writes it: "15 minutes", "2 hours", "1 hour"."""
    minutes = int(value.total_seconds() // 60)
    number, unit = (minutes // 60, "hour") if minutes and minutes % 60 == 0 else (minutes, "minute")
    return f"{number} {unit}{'' if number == 1 else 's'}"
