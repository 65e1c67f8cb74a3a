"""Dates and times as people type them in a chronology, exact or approximate.

Chronolator's rules (process.md 7.6, E16): the start date is mandatory and validated, and a
leading "?" marks an uncertain date. People also write "05/2019", "Spring 2019" or "c. 2018" when
the record gives no day; those are kept as approximate: the range of days they can mean, a sort
key (the first of those days) and a flag, never silently turned into a day.

Day first, always (a UK partnership): "03/04/2019" is 3 April; "04/15/2019" is refused, never
guessed. Reading is one pass of a tokenising pattern over at most :data:`MAX_CHARS` characters.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

MAX_CHARS = 60

MONTHS = {name: number for number, name in enumerate(calendar.month_name) if name} | {
    name: number for number, name in enumerate(calendar.month_abbr) if name
}
MONTHS = {k.lower(): v for k, v in MONTHS.items()} | {"sept": 9}
WEEKDAYS = {d.lower() for d in (*calendar.day_name, *calendar.day_abbr)} | {"tues", "thur", "thurs"}
#: Meteorological seasons (Met Office): a season's months; winter is December of the year named
#: and the next January and February ("winter 2019" is the winter that starts in 2019).
SEASONS = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "fall": (9, 11), "winter": (12, 14)}
#: "early 2019", "mid 2019", "late 2019": thirds of the year.
PARTS = {"early": (1, 4), "mid": (5, 8), "middle": (5, 8), "late": (9, 12), "end": (9, 12)}
#: Words that mark a date as uncertain ("c. 2018", "approx. 05/2019", "around March 2019").
UNCERTAIN = {"c", "ca", "circa", "approx", "approximately", "around", "about", "abt", "est", "estimated"}
FILLER = {"of", "the", "st", "nd", "rd", "th", "in"}
_TOKENS = re.compile(r"[a-z]+|\d+|\?")
_ALLOWED = re.compile(r"[a-z0-9?\s,./\-']*")


@dataclass(frozen=True)
class ChronoDate:
    """The days a typed date can mean. ``approximate``: not one known day."""

    date_from: date
    date_to: date
    approximate: bool
    label: str

    @property
    def exact(self) -> bool:
        return not self.approximate


def _year(token: str, today: date) -> int | None:
    if len(token) == 4:
        return int(token)
    if len(token) == 2:
        # A chronology looks back: "19" is 2019 unless that is still to come, then 1919.
        year = 2000 + int(token)
        return year if year <= today.year else year - 100
    return None


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _months(year: int, first: int, last: int) -> tuple[date, date]:
    """Months ``first``..``last`` of ``year``; a month past 12 runs into the next year."""
    end_year, end_month = year + (last - 1) // 12, (last - 1) % 12 + 1
    return date(year, first, 1), _month_end(end_year, end_month)


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(value: object, *, today: date) -> ChronoDate | None:
    """``value`` (a cell: text, or a date from a spreadsheet) as a :class:`ChronoDate`, or None
    when it is not a date this reads. Years before 1900 are refused (a typing slip)."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return _exact(value, approximate=False) if value.year >= 1900 else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_number(value, today)
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if not text or len(text) > MAX_CHARS or not _ALLOWED.fullmatch(text):
        return None
    tokens = _TOKENS.findall(text)
    uncertain = False
    kept: list[str] = []
    for token in tokens:
        if token == "?" or token in UNCERTAIN:
            uncertain = True
        elif token not in FILLER and token not in WEEKDAYS:
            kept.append(token)
    found = _read(kept, today)
    if found is None or found.date_from.year < 1900:
        return None
    if uncertain and found.exact:
        return _exact(found.date_from, approximate=True)
    return found


def _exact(day: date, *, approximate: bool) -> ChronoDate:
    label = day.strftime("%d/%m/%Y")
    return ChronoDate(day, day, approximate, f"c. {label}" if approximate else label)


def _approx(span: tuple[date, date], label: str) -> ChronoDate:
    return ChronoDate(span[0], span[1], True, label)


def _read(tokens: list[str], today: date) -> ChronoDate | None:
    kinds = "".join("n" if t.isdigit() else "m" if t in MONTHS else "s" if t in SEASONS
                    else "p" if t in PARTS else "?" for t in tokens)
    if kinds == "nnn":
        first, second, third = tokens
        if len(first) == 4:  # ISO 8601: 2019-03-03
            day = _day(int(first), int(second), int(third)) if len(third) <= 2 else None
        else:
            year = _year(third, today)
            day = _day(year, int(second), int(first)) if year and len(first) <= 2 else None
        return _exact(day, approximate=False) if day else None
    if kinds in ("nmn", "mnn"):  # 3 March 2019, March 3 2019
        number, month_name, year_token = (tokens[0], tokens[1], tokens[2]) if kinds == "nmn" else (
            tokens[1], tokens[0], tokens[2])
        year = _year(year_token, today)
        day = _day(year, MONTHS[month_name], int(number)) if year and len(number) <= 2 else None
        return _exact(day, approximate=False) if day else None
    if kinds == "nn":  # 05/2019 or 2019-05: a month (a two-digit year is refused: 05/19?)
        one, two = tokens
        year, month = (int(one), int(two)) if len(one) == 4 else (
            (int(two), int(one)) if len(two) == 4 else (0, 0))
        if not year or not 1 <= month <= 12:
            return None
        return _approx(_months(year, month, month), date(year, month, 1).strftime("%B %Y"))
    if kinds in ("mn", "pmn"):  # May 2019, early May 2019
        year = _year(tokens[-1], today) if len(tokens[-1]) == 4 else None
        if year is None:
            return None
        month = MONTHS[tokens[-2]]
        return _approx(_months(year, month, month), date(year, month, 1).strftime("%B %Y"))
    if kinds in ("sn", "pn"):  # Spring 2019, early 2019
        if len(tokens[1]) != 4:
            return None
        year = int(tokens[1])
        start, end = SEASONS[tokens[0]] if kinds == "sn" else PARTS[tokens[0]]
        return _approx(_months(year, start, end), f"{tokens[0].capitalize()} {year}")
    if kinds == "n" and len(tokens[0]) == 4:  # 2018
        year = int(tokens[0])
        return _approx(_months(year, 1, 12), str(year))
    return None


#: Excel's day numbers (1900 date system) for 1 Jan 1954 .. 1 Jan 2064: a plain number in a date
#: cell that was not formatted as a date.
_SERIALS = range(20_000, 60_000)
_EXCEL_EPOCH = date(1899, 12, 30)


def _from_number(value: float, today: date) -> ChronoDate | None:
    if value != int(value):
        return None
    number = int(value)
    if 1900 <= number <= today.year:  # a year typed as a number
        return _approx(_months(number, 1, 12), str(number))
    if number in _SERIALS:
        return _exact(_EXCEL_EPOCH + timedelta(days=number), approximate=False)
    return None


_TIME = re.compile(r"(\d{1,2})(?:[:.]?(\d{2}))?(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?")
#: What people write in an optional cell that means "nothing here".
BLANKS = {"", "-", "--", "n/a", "na", "n.a.", "none", "unknown", "not known", "nk", "tbc"}


def parse_time(value: object) -> str | None:
    """A time of day as "HH:MM", or None when it cannot be read ("" for nothing written)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.time()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and 0 <= value < 1:  # an Excel time not formatted as one
        minutes = round(value * 24 * 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}" if minutes < 24 * 60 else None
    text = str(value).strip().lower()
    if text in BLANKS:
        return ""
    if len(text) > 12:
        return None
    match = _TIME.fullmatch(text)
    if match is None:
        return None
    hour, minute = int(match[1]), int(match[2] or 0)
    if match[2] is None and match[4] is None and len(match[1]) <= 2 and not text.endswith(":"):
        return None  # a bare "14" is not a time
    suffix = (match[4] or "").replace(".", "")
    if suffix:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"
