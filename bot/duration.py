"""A timescale as a protocol writes it: "48 hours", "5 working days", "6 months".

Parsed strictly from partnership config and kept with its unit, because the units mean different
things (process.md 0.3). What a duration means on the calendar (working days, bank holidays, the
end of the day) is :class:`bot.calendar.Calendar`'s business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["Duration", "Unit"]

Unit = Literal["hours", "days", "weeks", "working_days", "months"]
_UNITS: tuple[str, ...] = get_args(Unit)

# Singular and plural spellings accepted by Duration.parse, mapped to the unit.
_UNIT_WORDS: dict[str, Unit] = {
    "hour": "hours",
    "hours": "hours",
    "day": "days",
    "days": "days",
    "week": "weeks",
    "weeks": "weeks",
    "working day": "working_days",
    "working days": "working_days",
    "month": "months",
    "months": "months",
}
_SINGULAR: dict[Unit, str] = {
    "hours": "hour",
    "days": "day",
    "weeks": "week",
    "working_days": "working day",
    "months": "month",
}
_ACCEPTED_FORMS = (
    '"N hours", "N days", "N weeks", "N working days" or "N months" '
    '(N a whole number >= 0; singular "1 hour", "1 day", "1 week", "1 working day", "1 month")'
)
# ASCII digits only: str.isdigit()/\d would also let through e.g. Arabic-Indic digits.
_DURATION_RE = re.compile(
    r"\s*(?P<value>[0-9]+)\s+(?P<unit>working\s+days?|hours?|days?|weeks?|months?)\s*",
    re.IGNORECASE | re.ASCII,
)


@dataclass(frozen=True)
class Duration:
    """A timescale as written in a protocol: "48 hours", "5 working days", "6 months".

    The unit is kept, not converted to a timedelta, because the units mean different
    things: 48 hours is elapsed time, but 14 days ends at midnight and 6 months is a
    calendar-month step (process.md 0.3). Collapsing them would lose that.
    """

    value: int
    unit: Unit

    def __post_init__(self) -> None:
        # Validate here so a bad Duration cannot be built from config by hand and
        # only blow up later, deep inside a sweep.
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise ValueError(f"Duration value must be a whole number, got {self.value!r}")
        if self.value < 0:
            raise ValueError(f"Duration value must be >= 0, got {self.value}")
        if self.unit not in _UNITS:
            raise ValueError(f"Duration unit must be one of {', '.join(_UNITS)}; got {self.unit!r}")

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse protocol text such as ``"5 working days"`` or ``"1 month"``.

        Deliberately strict (no "hrs", no "five", no sign): these strings come from
        partnership config, and a typo must fail loudly at load time instead of
        silently becoming a different deadline.
        """
        if not isinstance(text, str):
            raise ValueError(
                f"Cannot parse duration {text!r}: expected text like {_ACCEPTED_FORMS}"
            )
        match = _DURATION_RE.fullmatch(text)
        if match is None:
            raise ValueError(f"Cannot parse duration {text!r}: expected {_ACCEPTED_FORMS}")
        unit_words = " ".join(match["unit"].lower().split())
        return cls(int(match["value"]), _UNIT_WORDS[unit_words])

    def __str__(self) -> str:
        """Canonical text, which :meth:`parse` reads back to an equal Duration."""
        word = _SINGULAR[self.unit] if self.value == 1 else self.unit.replace("_", " ")
        return f"{self.value} {word}"
