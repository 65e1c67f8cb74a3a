"""A journalist's deadline as people write it ("4pm today", "tomorrow 10:30", "20/11/2026 09:00").

Untrusted text: the value is cut to 100 characters and read with expressions that have no nested
or overlapping quantifiers. A moment that is named but cannot exist (31/02, year 99999, 37:00,
past the last datetime) or is absurdly far away raises :class:`Unreadable`, so that the caller
notes it for the press office instead of failing the enquiry (issue 9).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: A journalist's deadline is hours or days away; one further out than this is a typo.
DEADLINE_HORIZON = timedelta(days=366)

_NUMERIC_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{1,5})\b")
_CLOCK = re.compile(r"\b(\d{1,3})(?:[:.](\d{1,3}))?[ \t]?(am|pm)?\b", re.IGNORECASE)


class Unreadable(ValueError):
    """A deadline that was written but cannot be a moment in time (31/02, year 99999, 37:00)."""


def _clock(text: str) -> time | None:
    """The time of day written in ``text`` ("4pm", "16:30", "10.30am"); None when none is.

    Raises :class:`Unreadable` when a time is written but cannot be one ("37:00", "25pm").
    """
    for match in _CLOCK.finditer(text):
        hour_text, minute_text, half = match.group(1), match.group(2), (match.group(3) or "").lower()
        if minute_text is None and not half:
            continue  # a bare number is not a time
        hour, minute = int(hour_text), int(minute_text or 0)
        if half and not 1 <= hour <= 12:
            raise Unreadable(f"{match.group(0).strip()} is not a time")
        if half == "pm" and hour < 12:
            hour += 12
        if half == "am" and hour == 12:
            hour = 0
        if hour > 23 or minute > 59 or (minute_text is not None and len(minute_text) != 2):
            raise Unreadable(f"{match.group(0).strip()} is not a time")
        return time(hour, minute)
    return None


def parse_deadline(value: str, now: datetime, tz: str) -> datetime | None:
    """A journalist's deadline as people write it: ISO, 23/11/2026 16:00, "4pm today",
    "tomorrow 10:30". None when no moment is named; :class:`Unreadable` when one is named that
    cannot exist or is absurdly far away (more than ``DEADLINE_HORIZON`` ahead)."""
    zone = ZoneInfo(tz)
    value = value.strip()[:100]
    text = value.lower()
    today = now.astimezone(zone).date()
    try:
        iso: datetime | None = datetime.fromisoformat(value)
    except ValueError:
        iso = None
    if iso is not None:
        return _within_horizon((iso if iso.tzinfo else iso.replace(tzinfo=zone)), now)
    day: date | None = None
    numeric = _NUMERIC_DATE.search(text)
    if numeric:
        d, m, y = (int(numeric.group(i)) for i in (1, 2, 3))
        if len(numeric.group(3)) != 4:
            raise Unreadable(f"year {numeric.group(3)} is not a year")
        try:
            day = date(y, m, d)
        except ValueError:
            raise Unreadable(f"{numeric.group(0)} is not a date") from None
        text = text.replace(numeric.group(0), " ")
    elif "tomorrow" in text:
        day = today + timedelta(days=1)
    elif "today" in text or "tonight" in text:
        day = today
    at = _clock(text)
    if day is None and at is not None:
        day = today  # "by 4pm" means today
    if day is None:
        return None
    return _within_horizon(datetime.combine(day, at or time(17), tzinfo=zone), now)


def _within_horizon(moment: datetime, now: datetime) -> datetime:
    try:
        utc = moment.astimezone(ZoneInfo("UTC"))
    except (OverflowError, ValueError):  # 9999-12-31T23:30-05:00 is past the last datetime
        raise Unreadable("the date is out of range") from None
    if utc - now > DEADLINE_HORIZON:
        raise Unreadable("the date is more than a year away")
    return utc
