"""Dates and times as people in an English partnership write them, read the way the mail intake reads them.

The intake reads a referral's dates (handlers/mail/classify.py ``_date``) and a journalist's
deadline (handlers/mail/media_mail.py ``parse_deadline``); the command line reads the same forms
here, so ``31/12/2026`` means the same thing by email and at the prompt: day first, as in the UK.
Everything is linear in the input, and the input is capped (trust nothing from outside).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = "Europe/London"
MAX_INPUT = 100  # longer text is not a date anyone typed

#: The day forms of a referral email (the same list as the intake's, in the same order).
DAY_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %B %Y", "%d %b %Y", "%a %d %b %Y")
DAY_EXAMPLES = "2026-12-31, 31/12/2026, 31-12-2026, 31 December 2026, Thu 31 Dec 2026, today"

_NUMERIC = re.compile(r"\b(\d{1,2})([/-])(\d{1,2})\2(\d{4})\b")
_NAMED = re.compile(r"\b(\d{1,2}(?:\s+|-)[a-z]{3,9}\.?(?:\s+|-)\d{4})\b")
_ISO_DAY = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_CLOCK = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?", re.IGNORECASE)


def read_day(value: str, today: date | None = None) -> date | None:
    """A calendar day: ISO, day-first numeric, or with the month's name; ``today``, ``yesterday``
    and ``tomorrow`` when ``today`` is given. None when it cannot be read with confidence."""
    text = value.strip().rstrip(".")
    if len(text) > MAX_INPUT:
        return None
    for fmt in DAY_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    if today is not None:
        relative = {"today": 0, "yesterday": -1, "tomorrow": 1}.get(text.lower())
        if relative is not None:
            return today + timedelta(days=relative)
    return None


def _clock(text: str) -> time | None:
    """The first time of day in ``text``: 16:00, 4pm, 4.30pm, 10:30. A bare number is not a time."""
    match = _CLOCK.search(text)
    if not match:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), (match.group(3) or "").lower()
    if half == "pm" and hour < 12:
        hour += 12
    if half == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or (not half and not match.group(2)):
        return None
    return time(hour, minute)


def read_moment(value: str, now: datetime, *, default_time: time = time(17),
                tz: str = LONDON) -> datetime | None:
    """A moment as people write it, in UTC: ISO (``2026-11-23T10:00`` or ``2026-11-23 10:00``),
    ``23/11/2026 16:00``, ``31 December 2026 09:30``, ``4pm today``, ``tomorrow 10:30``, ``4pm``
    (today). Without a time of day it is ``default_time`` (17:00, as the intake reads a
    journalist's deadline). Local (London) time unless an offset is given."""
    zone = ZoneInfo(tz)
    stripped = value.strip()
    if len(stripped) > MAX_INPUT:
        return None
    try:
        parsed = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
        if len(stripped) > 10:  # a bare ISO day falls through to the default time below
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(ZoneInfo("UTC"))
    except ValueError:
        pass
    text = stripped.lower()
    today = now.astimezone(zone).date()
    day: date | None = None
    for pattern in (_NUMERIC, _ISO_DAY, _NAMED):
        match = pattern.search(text)
        if match:
            day = read_day(match.group(0).replace("-", " ") if pattern is _NAMED else match.group(0))
            if day is None:
                return None  # 31/02/2026: a date, but not a real one
            text = text.replace(match.group(0), " ")
            break
    else:
        if "tomorrow" in text:
            day = today + timedelta(days=1)
        elif "yesterday" in text:
            day = today - timedelta(days=1)
        elif "today" in text or "tonight" in text:
            day = today
    at = _clock(text)
    if day is None and at is not None:
        day = today  # "by 4pm" means today
    if day is None:
        return None
    return datetime.combine(day, at or default_time, tzinfo=zone).astimezone(ZoneInfo("UTC"))


def is_iso(value: str) -> bool:
    """Written in ISO 8601 (nothing to explain: it reads one way only)."""
    try:
        datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def uk_day(value: date) -> str:
    """Thursday 31 December 2026: how the CLI says which day it understood."""
    return f"{value:%A} {value.day} {value:%B %Y}"


def uk_time(value: datetime, tz: str = LONDON) -> str:
    """Mon 23 Nov 2026 10:00 (London time, no seconds): how the CLI shows a moment."""
    local = value.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %Y %H:%M}"


def uk_date(value: date) -> str:
    """Mon 23 Nov 2026: a day in the CLI's human output."""
    return f"{value:%a} {value.day} {value:%b %Y}"
