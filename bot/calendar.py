"""The deadline calendar: working days, local dates and due instants.

Every statutory and local timescale in the process (process.md section 3) is
"N <unit> after <event>". This module is the single place that turns such a
pair into a due instant, so the semantics are decided once (see
docs/decisions/0002-deadline-semantics.md) rather than re-invented by each
handler.

Conventions, and why:

* Instants going in and out are timezone-aware UTC, like everywhere else in the
  bot (architecture rule 6). Naive datetimes are read as UTC, matching
  :func:`bot.clock.as_utc`, because that is how the database hands them back.
* Calendar reasoning ("which day is it?", "end of the day") happens in the
  partnership's local zone (Europe/London), because that is the day a
  practitioner sees on the wall. A UTC date is wrong for the hour after
  midnight in summer.
* Timescales themselves ("5 working days") are :class:`bot.duration.Duration`.
* Bank holidays come from the ``holidays`` package (no network at runtime),
  plus per-partnership ``closure_days`` for council shutdowns and one-off
  proclamations the package does not know yet (libraries.md section 5).
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from bot.clock import as_utc
from bot.duration import Duration

__all__ = ["REGIONS", "Calendar"]

#: Calendar regions as named by the gov.uk bank-holidays feed, mapped to the
#: ``holidays`` package's GB subdivision codes. Wales shares England's list, which is
#: why there is one "england-and-wales" region, as on gov.uk.
REGIONS: dict[str, str] = {
    "england-and-wales": "ENG",
    "scotland": "SCT",
    "northern-ireland": "NIR",
}


@cache
def _bank_holidays(subdiv: str, year: int) -> frozenset[date]:
    """The bank holidays of one GB subdivision in one year, computed once per process.

    The sweep asks "is this a working day?" thousands of times. A frozenset per year
    is cheap to look up, and unlike a ``HolidayBase`` it never changes: ``in`` on a
    ``HolidayBase`` silently adds whole years to it (``expand=True``).
    """
    return frozenset(holidays.country_holidays("GB", subdiv=subdiv, years=year).keys())


def _add_months(d: date, n: int) -> date:
    """Same day number ``n`` calendar months later (or earlier), clamped to the month's end.

    The clamp is process.md 0.3: when the day does not exist, use the month's last day
    (31 Aug + 6 months is 28 or 29 Feb).
    """
    index = d.year * 12 + (d.month - 1) + n
    year, month0 = divmod(index, 12)
    month = month0 + 1
    return date(year, month, min(d.day, monthrange(year, month)[1]))


def _check_date(d: date) -> date:
    """Reject datetimes where a date is expected.

    ``datetime`` is a subclass of ``date``, but ``datetime(2026, 12, 25) != date(2026,
    12, 25)``, so a datetime would quietly miss every holiday. Worse, its ``.date()``
    would be the UTC date. Callers must say which local date they mean.
    """
    if isinstance(d, datetime):
        raise TypeError(f"expected a date, got the datetime {d!r}; use Calendar.local_date() first")
    if not isinstance(d, date):
        raise TypeError(f"expected a date, got {d!r}")
    return d


class Calendar:
    """Working days and deadline arithmetic for one partnership.

    One instance per partnership: the region decides the bank holidays, and
    ``closure_days`` adds local non-working days. Instances are cheap and read-only,
    and the holiday lists are cached per year at module level, so they are safe to
    share between threads and to build per request.
    """

    def __init__(
        self,
        region: str = "england-and-wales",
        closure_days: Iterable[date] = (),
        tz: str = "Europe/London",
        working_hours: tuple[time, time] = (time(9), time(17)),
    ) -> None:
        if region not in REGIONS:
            raise ValueError(
                f"Unknown calendar region {region!r}; valid regions are: {', '.join(REGIONS)}"
            )
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"Unknown time zone {tz!r} (expected an IANA name)") from exc
        start, end = working_hours
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("working_hours must be naive local times, e.g. (time(9), time(17))")
        if not start < end:
            raise ValueError(f"working_hours start {start} must be before end {end}")

        self.region: str = region
        self.subdiv: str = REGIONS[region]
        self.closure_days: frozenset[date] = frozenset(_check_date(d) for d in closure_days)
        self.tz: ZoneInfo = zone
        self.working_hours: tuple[time, time] = (start, end)

    def __repr__(self) -> str:
        return (
            f"Calendar(region={self.region!r}, closure_days={len(self.closure_days)} days, "
            f"tz={self.tz.key!r}, working_hours={self.working_hours!r})"
        )

    # -- days ---------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """Mon-Fri, not a bank holiday of the region, not a closure day (process.md 0.3 WD)."""
        _check_date(d)
        return (
            d.weekday() < 5
            and d not in _bank_holidays(self.subdiv, d.year)
            and d not in self.closure_days
        )

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d``; ``d`` itself is day 0 and never counts.

        "Within 5 WD of X" counts from the day after X (process.md 0.3), so this is
        right whether or not ``d`` is itself a working day. ``n == 0`` returns ``d``.
        """
        _check_date(d)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}; use subtract_working_days()")
        day = d
        while n:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def subtract_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day before ``d`` (the mirror of :meth:`add_working_days`).

        For "send the report at least 7 WD before publication" (D-11).
        """
        _check_date(d)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}; use add_working_days()")
        day = d
        while n:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """Signed count of working days from ``a`` to ``b``, counting ``b`` but not ``a``.

        If ``b > a``: working days after ``a`` up to and including ``b`` ("3 working days
        left" when ``a`` is today and ``b`` the due date). If ``b < a``: minus the
        working days from ``b`` (included) up to ``a`` (excluded). Both directions
        include ``b`` and exclude ``a``, which makes this the exact inverse of
        :meth:`add_working_days` and :meth:`subtract_working_days` for every ``a``,
        even a weekend. A consequence: it is not antisymmetric when an end is a
        non-working day, and 0 does not mean "not overdue"; compare instants for that.
        """
        _check_date(a)
        _check_date(b)
        if b >= a:
            lo, hi, sign = a + timedelta(days=1), b, 1  # (a, b]
        else:
            lo, hi, sign = b, a - timedelta(days=1), -1  # [b, a)
        count = 0
        day = lo
        while day <= hi:
            if self.is_working_day(day):
                count += 1
            day += timedelta(days=1)
        return sign * count

    # -- instants -----------------------------------------------------------------

    def local_date(self, instant: datetime) -> date:
        """The date on the partnership's wall calendar at ``instant``.

        Not ``instant.date()``: 00:30 BST on 2 July is 23:30 UTC on 1 July.
        """
        return as_utc(instant).astimezone(self.tz).date()

    def _at_local(self, d: date, t: time) -> datetime:
        """Aware UTC for the local wall-clock time ``t`` on ``d``.

        Uses ``fold=0`` (PEP 495): an ambiguous time in the autumn repeat takes its
        first occurrence (still summer time), and a non-existent time in the spring gap
        is read with the pre-gap offset, which lands it after the gap (01:30 on the
        spring-forward day becomes 02:30 BST). Either way the result is a real instant
        and no chaser is silently dropped or sent twice.
        """
        local = datetime.combine(d, t.replace(tzinfo=None, fold=0)).replace(tzinfo=self.tz, fold=0)
        return local.astimezone(UTC)

    def start_of_day(self, d: date) -> datetime:
        """00:00 local time on ``d``, as aware UTC: the anchor for a clock that runs from a date."""
        return self._at_local(d, time(0))

    def end_of_day(self, d: date) -> datetime:
        """23:59:59 local time on ``d``, as aware UTC.

        A deadline of "by day X" is met by anything done on day X in the partnership's
        own time, so the cut-off is local midnight, which is 22:59:59 UTC in summer.
        """
        _check_date(d)
        return self._at_local(d, time(23, 59, 59))

    def due_after(self, anchor: datetime, duration: Duration) -> datetime:
        """The due instant for "``duration`` after ``anchor``" (decision record 0002).

        * hours: exactly N elapsed hours after the anchor, so a 48 H request spans 48
          real hours even across a clock change (KIR l.128; process.md 0.3).
        * days / weeks: end of the local day N (7N) days after the anchor's local date,
          because people read "14 days" as a date, not a time of day.
        * working_days: end of the N-th working day after the anchor's local date
          (anchor day is day 0; SW-SCR 4.9).
        * months: end of the same day-of-month N months later, clamped to the month's
          last day (SW-SCR 4.12, STK l.141).

        Calendar-day deadlines can land on a weekend or bank holiday; they are not
        rolled forward here (process.md 0.3 default). Callers flag them with
        ``is_working_day(local_date(due))``.
        """
        if duration.unit == "hours":
            return as_utc(anchor) + timedelta(hours=duration.value)
        return self.end_of_day(self._step_date(self.local_date(anchor), duration, forward=True))

    def shift(self, instant: datetime, duration: Duration) -> datetime:
        """The same local wall-clock time ``duration`` later, for chase offsets.

        "Chase 2 days after sending at 10:00" should chase at 10:00, even across a
        clock change, so every unit except hours keeps the local time and moves the
        date (days, weeks, N-th working day, or months clamped to the month's end).
        Hours are elapsed time. Gap and fold handling is described in :meth:`_at_local`.
        """
        return self._shift(instant, duration, forward=True)

    def shift_back(self, instant: datetime, duration: Duration) -> datetime:
        """The mirror of :meth:`shift`: "remind N before due".

        Not always an exact inverse: months clamp (31 Mar minus 1 month is 28/29 Feb,
        plus 1 month is 28/29 Mar), and a working-day step from a non-working day lands
        on a working day.
        """
        return self._shift(instant, duration, forward=False)

    def _shift(self, instant: datetime, duration: Duration, *, forward: bool) -> datetime:
        utc = as_utc(instant)
        if duration.unit == "hours":
            delta = timedelta(hours=duration.value)
            return utc + delta if forward else utc - delta
        local = utc.astimezone(self.tz)
        target = self._step_date(local.date(), duration, forward=forward)
        if target == local.date():
            # A zero step: return the instant untouched, otherwise fold=0 would move
            # the second 01:30 of the autumn change back an hour.
            return utc
        return self._at_local(target, local.time())

    def _step_date(self, d: date, duration: Duration, *, forward: bool) -> date:
        """Move a local date by a non-hour duration, forwards or backwards."""
        n = duration.value
        match duration.unit:
            case "days":
                return d + timedelta(days=n if forward else -n)
            case "weeks":
                return d + timedelta(weeks=n if forward else -n)
            case "working_days":
                return self.add_working_days(d, n) if forward else self.subtract_working_days(d, n)
            case "months":
                return _add_months(d, n if forward else -n)
            case _:
                raise ValueError(f"{duration} has no calendar-date step")

    # -- working hours ------------------------------------------------------------

    def is_within_working_hours(self, instant: datetime) -> bool:
        """A working day and start <= local time < end.

        The end is exclusive so 17:00 sharp is already out of hours, and a chaser due
        then waits for the next morning rather than landing as people leave.
        """
        local = as_utc(instant).astimezone(self.tz)
        start, end = self.working_hours
        return self.is_working_day(local.date()) and start <= local.time() < end

    def next_working_moment(self, instant: datetime) -> datetime:
        """``instant`` if within working hours, else the start of the next working window.

        Used to hold non-urgent messages until someone is at their desk: today's start
        if today is a working day and it is still early, otherwise the start of the next
        working day. The deadline itself is never moved, only when we tell people.
        """
        utc = as_utc(instant)
        if self.is_within_working_hours(utc):
            return utc
        local = utc.astimezone(self.tz)
        start = self.working_hours[0]
        today = local.date()
        if self.is_working_day(today) and local.time() < start:
            return self._at_local(today, start)
        return self._at_local(self.add_working_days(today, 1), start)
