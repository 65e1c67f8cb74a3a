"""Tests for the deadline calendar (bot/calendar.py, decision record 0002).

Dates are fixed; nothing reads the wall clock. Expected UTC instants are written out
by hand (GMT = UTC+0, BST = UTC+1) so a bug in the zone handling cannot hide behind
the same conversion in test and code.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

import bot.calendar as calmod
from bot.calendar import Calendar
from bot.duration import Duration


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def cal() -> Calendar:
    return Calendar()


# -- working days --------------------------------------------------------------------


def test_process_md_worked_example(cal: Calendar) -> None:
    """process.md 0.3: aware Mon 06-Jan-2025 -> SIN due Mon 13-Jan -> RR due Mon 03-Feb."""
    aware = utc(2025, 1, 6, 14, 30)
    sin_due = cal.due_after(aware, Duration.parse("5 working days"))
    assert sin_due == utc(2025, 1, 13, 23, 59, 59)  # GMT: local end of day == UTC

    sin_submitted = utc(2025, 1, 13, 11, 0)
    rr_due = cal.due_after(sin_submitted, Duration.parse("15 working days"))
    assert rr_due == utc(2025, 2, 3, 23, 59, 59)

    # "20 WD after awareness when the SIN uses its full allowance"
    assert cal.add_working_days(date(2025, 1, 6), 20) == date(2025, 2, 3)


def test_christmas_and_new_year_2026(cal: Calendar) -> None:
    assert not cal.is_working_day(date(2026, 12, 25))  # Christmas Day, Friday
    assert not cal.is_working_day(date(2026, 12, 26))  # Saturday (and Boxing Day)
    assert not cal.is_working_day(date(2026, 12, 28))  # Boxing Day (observed), Monday
    assert cal.is_working_day(date(2026, 12, 29))
    assert not cal.is_working_day(date(2027, 1, 1))  # New Year's Day, Friday
    assert cal.add_working_days(date(2026, 12, 18), 10) == date(2027, 1, 6)
    assert cal.working_days_between(date(2026, 12, 18), date(2027, 1, 6)) == 10


def test_easter_2026(cal: Calendar) -> None:
    assert not cal.is_working_day(date(2026, 4, 3))  # Good Friday
    assert not cal.is_working_day(date(2026, 4, 6))  # Easter Monday
    assert cal.is_working_day(date(2026, 4, 2))
    assert cal.add_working_days(date(2026, 4, 2), 1) == date(2026, 4, 7)
    assert cal.subtract_working_days(date(2026, 4, 7), 1) == date(2026, 4, 2)


def test_closure_days_do_not_count() -> None:
    shutdown = [date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)]
    cal = Calendar(closure_days=shutdown)
    assert not cal.is_working_day(date(2026, 12, 30))
    # Fri 18 Dec is day 0: 21-24 Dec (4), 4-8 Jan (5), Mon 11 Jan (10).
    assert cal.add_working_days(date(2026, 12, 18), 10) == date(2027, 1, 11)
    assert Calendar().add_working_days(date(2026, 12, 18), 10) == date(2027, 1, 6)


def test_scotland_differs_from_england() -> None:
    eng, sct, nir = Calendar(), Calendar("scotland"), Calendar("northern-ireland")
    assert eng.is_working_day(date(2026, 1, 2)) and not sct.is_working_day(date(2026, 1, 2))
    # Easter Monday is not a Scottish bank holiday.
    assert sct.is_working_day(date(2026, 4, 6)) and not eng.is_working_day(date(2026, 4, 6))
    assert not nir.is_working_day(date(2026, 3, 17)) and eng.is_working_day(date(2026, 3, 17))
    # Thu 31 Dec 2025 + 1 WD: Fri 2 Jan in England, Mon 5 Jan in Scotland.
    assert eng.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 2)
    assert sct.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 5)


def test_unknown_region_names_the_valid_ones() -> None:
    with pytest.raises(ValueError) as excinfo:
        Calendar("wales")
    message = str(excinfo.value)
    assert "'wales'" in message
    for region in ("england-and-wales", "scotland", "northern-ireland"):
        assert region in message


@pytest.mark.parametrize(
    "kwargs",
    [{"tz": "Europe/Nowhere"}, {"working_hours": (time(17), time(9))}],
)
def test_bad_calendar_config_is_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Calendar(**kwargs)  # type: ignore[arg-type]


def test_anchor_on_a_weekend_counts_from_the_next_working_day(cal: Calendar) -> None:
    assert cal.add_working_days(date(2026, 1, 10), 1) == date(2026, 1, 12)  # Sat -> Mon
    assert cal.add_working_days(date(2026, 1, 10), 0) == date(2026, 1, 10)
    assert cal.subtract_working_days(date(2026, 1, 10), 1) == date(2026, 1, 9)  # Sat -> Fri


def test_negative_working_day_counts_are_rejected(cal: Calendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(date(2026, 1, 5), -1)
    with pytest.raises(ValueError):
        cal.subtract_working_days(date(2026, 1, 5), -1)


def test_datetimes_are_refused_where_a_date_is_meant(cal: Calendar) -> None:
    # datetime is a date subclass but never equals a holiday date: refuse, don't mislead.
    with pytest.raises(TypeError):
        cal.is_working_day(datetime(2026, 12, 25, 12, tzinfo=UTC))
    with pytest.raises(TypeError):
        Calendar(closure_days=[datetime(2026, 12, 29)])


def test_working_days_between(cal: Calendar) -> None:
    assert cal.working_days_between(date(2025, 1, 6), date(2025, 1, 6)) == 0
    assert cal.working_days_between(date(2025, 1, 6), date(2025, 1, 13)) == 5
    assert cal.working_days_between(date(2025, 1, 13), date(2025, 2, 3)) == 15
    assert cal.working_days_between(date(2025, 1, 13), date(2025, 1, 6)) == -5
    # Fri -> Mon is one working day left; over a weekend nothing is counted.
    assert cal.working_days_between(date(2026, 1, 9), date(2026, 1, 12)) == 1
    assert cal.working_days_between(date(2026, 1, 10), date(2026, 1, 11)) == 0
    # Overdue: today Wed 14 Jan, due Mon 12 Jan -> Mon and Tue have passed.
    assert cal.working_days_between(date(2026, 1, 14), date(2026, 1, 12)) == -2


@pytest.mark.parametrize("region", ["england-and-wales", "scotland", "northern-ireland"])
def test_working_days_between_inverts_add_and_subtract(region: str) -> None:
    cal = Calendar(region, closure_days=[date(2026, 12, 29)])
    start = date(2026, 12, 1)
    for offset in range(45):
        d = start + timedelta(days=offset)
        for n in (0, 1, 5, 15):
            assert cal.working_days_between(d, cal.add_working_days(d, n)) == n
            assert cal.working_days_between(d, cal.subtract_working_days(d, n)) == -n


def test_add_working_days_agrees_with_holidays_package() -> None:
    """Cross-check against holidays' own helper (exclusive of the start date)."""
    import holidays

    reference = holidays.country_holidays("GB", subdiv="ENG")
    cal = Calendar()
    for offset in range(0, 730, 3):
        d = date(2025, 1, 1) + timedelta(days=offset)
        assert cal.add_working_days(d, 15) == reference.get_nth_working_day(d, 15)


def test_holidays_are_computed_once_per_year(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int]] = []
    real = calmod.holidays.country_holidays

    def counting(country: str, *, subdiv: str, years: int):  # type: ignore[no-untyped-def]
        calls.append((subdiv, years))
        return real(country, subdiv=subdiv, years=years)

    calmod._bank_holidays.cache_clear()
    monkeypatch.setattr(calmod.holidays, "country_holidays", counting)
    try:
        cal = Calendar()
        for _ in range(200):
            cal.add_working_days(date(2026, 12, 18), 10)
        assert sorted(calls) == [("ENG", 2026), ("ENG", 2027)]
    finally:
        calmod._bank_holidays.cache_clear()


# -- instants and due dates ----------------------------------------------------------


def test_local_date_uses_london_not_utc(cal: Calendar) -> None:
    assert cal.local_date(utc(2026, 7, 1, 23, 30)) == date(2026, 7, 2)  # 00:30 BST
    assert cal.local_date(utc(2026, 1, 1, 23, 30)) == date(2026, 1, 1)  # 23:30 GMT
    assert cal.local_date(datetime(2026, 7, 1, 23, 30)) == date(2026, 7, 2)  # naive = UTC


def test_end_of_day_in_bst_and_gmt(cal: Calendar) -> None:
    assert cal.end_of_day(date(2026, 7, 15)) == utc(2026, 7, 15, 22, 59, 59)  # BST
    assert cal.end_of_day(date(2026, 1, 15)) == utc(2026, 1, 15, 23, 59, 59)  # GMT
    # Clock-change days: the evening is already on the new offset.
    assert cal.end_of_day(date(2026, 3, 29)) == utc(2026, 3, 29, 22, 59, 59)
    assert cal.end_of_day(date(2026, 10, 25)) == utc(2026, 10, 25, 23, 59, 59)
    assert cal.end_of_day(date(2026, 7, 15)).tzinfo is UTC


def test_48_hours_across_spring_forward_is_48_elapsed_hours(cal: Calendar) -> None:
    anchor = utc(2026, 3, 27, 12, 0)  # Fri 12:00 GMT; clocks go forward Sun 29 Mar
    due = cal.due_after(anchor, Duration.parse("48 hours"))
    assert due == utc(2026, 3, 29, 12, 0)  # 13:00 BST on the wall
    assert due - anchor == timedelta(hours=48)


def test_48_hours_across_autumn_change_is_48_elapsed_hours(cal: Calendar) -> None:
    anchor = utc(2026, 10, 23, 11, 0)  # Fri 12:00 BST; clocks go back Sun 25 Oct
    due = cal.due_after(anchor, Duration.parse("48 hours"))
    assert due == utc(2026, 10, 25, 11, 0)  # 11:00 GMT on the wall
    assert due - anchor == timedelta(hours=48)


def test_friday_1600_48_hours_falls_due_sunday_1600(cal: Calendar) -> None:
    """process.md 0.3: a 48 H request sent Friday 16:00 falls due Sunday 16:00."""
    for anchor, expected in [
        (utc(2026, 3, 6, 16, 0), utc(2026, 3, 8, 16, 0)),  # GMT
        (utc(2026, 6, 5, 15, 0), utc(2026, 6, 7, 15, 0)),  # 16:00 BST
    ]:
        due = cal.due_after(anchor, Duration.parse("48 hours"))
        assert due == expected
        assert not cal.is_working_day(cal.local_date(due))  # caller shows the flag


def test_14_days_from_a_2330_local_anchor(cal: Calendar) -> None:
    fourteen = Duration.parse("14 days")
    # 23:30 GMT on Thu 1 Jan 2026 -> end of Thu 15 Jan.
    assert cal.due_after(utc(2026, 1, 1, 23, 30), fourteen) == utc(2026, 1, 15, 23, 59, 59)
    # 23:30 BST on Wed 1 Jul 2026 (22:30 UTC) -> end of Wed 15 Jul local.
    assert cal.due_after(utc(2026, 7, 1, 22, 30), fourteen) == utc(2026, 7, 15, 22, 59, 59)
    # 00:30 BST on 2 Jul is still 1 Jul in UTC: the local date (2 Jul) is the anchor.
    assert cal.due_after(utc(2026, 7, 1, 23, 30), fourteen) == utc(2026, 7, 16, 22, 59, 59)


def test_days_and_weeks(cal: Calendar) -> None:
    anchor = utc(2026, 3, 2, 10, 0)
    assert cal.due_after(anchor, Duration.parse("2 weeks")) == cal.due_after(
        anchor, Duration.parse("14 days")
    )
    assert cal.due_after(anchor, Duration.parse("0 days")) == utc(2026, 3, 2, 23, 59, 59)
    assert cal.due_after(anchor, Duration.parse("0 hours")) == anchor
    # 12 weeks (D-14) across the spring change ends at local midnight in BST.
    assert cal.due_after(anchor, Duration.parse("12 weeks")) == utc(2026, 5, 25, 22, 59, 59)


def test_6_months_clamps_to_month_end(cal: Calendar) -> None:
    six = Duration.parse("6 months")
    assert cal.due_after(utc(2025, 8, 31, 10), six) == utc(2026, 2, 28, 23, 59, 59)
    assert cal.due_after(utc(2027, 8, 31, 10), six) == utc(2028, 2, 29, 23, 59, 59)  # leap
    assert cal.due_after(utc(2026, 3, 31, 10), six) == utc(2026, 9, 30, 22, 59, 59)  # BST
    assert cal.due_after(utc(2026, 1, 15, 10), six) == utc(2026, 7, 15, 22, 59, 59)
    assert cal.due_after(utc(2026, 11, 30, 10), Duration.parse("3 months")) == utc(
        2027, 2, 28, 23, 59, 59
    )


def test_due_after_working_days_uses_local_date(cal: Calendar) -> None:
    # 23:30 UTC Thu 2 Jul is 00:30 BST Fri 3 Jul: 1 WD later is Mon 6 Jul, not Fri 3 Jul.
    due = cal.due_after(utc(2026, 7, 2, 23, 30), Duration.parse("1 working day"))
    assert due == utc(2026, 7, 6, 22, 59, 59)


# -- shift / shift_back ----------------------------------------------------------------


def test_shift_keeps_local_wall_clock_across_dst(cal: Calendar) -> None:
    sat_10_gmt = utc(2026, 3, 28, 10, 0)
    shifted = cal.shift(sat_10_gmt, Duration.parse("1 day"))
    assert shifted == utc(2026, 3, 29, 9, 0)  # Sun 10:00 BST
    assert shifted - sat_10_gmt == timedelta(hours=23)
    assert cal.shift(sat_10_gmt, Duration.parse("24 hours")) == utc(2026, 3, 29, 10, 0)
    # Autumn: Sat 24 Oct 10:00 BST + 1 week -> Sat 31 Oct 10:00 GMT.
    assert cal.shift(utc(2026, 10, 24, 9, 0), Duration.parse("1 week")) == utc(2026, 10, 31, 10)


def test_shift_into_the_spring_gap_resolves_forward(cal: Calendar) -> None:
    # 01:30 GMT Sat 28 Mar + 1 day: 01:30 on 29 Mar does not exist -> 02:30 BST.
    shifted = cal.shift(utc(2026, 3, 28, 1, 30), Duration.parse("1 day"))
    assert shifted == utc(2026, 3, 29, 1, 30)
    assert shifted.astimezone(cal.tz).hour == 2


def test_shift_onto_an_ambiguous_time_takes_the_first(cal: Calendar) -> None:
    # 01:30 BST Sat 24 Oct + 1 day: 01:30 happens twice on 25 Oct -> the BST one.
    assert cal.shift(utc(2026, 10, 24, 0, 30), Duration.parse("1 day")) == utc(2026, 10, 25, 0, 30)
    # A zero step leaves even the second 01:30 where it is.
    second = utc(2026, 10, 25, 1, 30)
    assert cal.shift(second, Duration.parse("0 days")) == second


def test_shift_working_days_and_months(cal: Calendar) -> None:
    fri_10 = utc(2026, 4, 2, 9, 0)  # Thu 2 Apr 10:00 BST, before Easter
    assert cal.shift(fri_10, Duration.parse("1 working day")) == utc(2026, 4, 7, 9, 0)
    assert cal.shift(utc(2026, 1, 31, 9, 0), Duration.parse("1 month")) == utc(2026, 2, 28, 9, 0)
    # 31 Jan 09:00 GMT + 3 months -> 30 Apr 09:00 BST.
    assert cal.shift(utc(2026, 1, 31, 9, 0), Duration.parse("3 months")) == utc(2026, 4, 30, 8)


def test_shift_back_is_the_mirror_for_reminders(cal: Calendar) -> None:
    due = cal.due_after(utc(2025, 1, 6, 9), Duration.parse("5 working days"))  # end Mon 13 Jan
    assert cal.shift_back(due, Duration.parse("1 working day")) == utc(2025, 1, 10, 23, 59, 59)
    assert cal.shift_back(due, Duration.parse("24 hours")) == utc(2025, 1, 12, 23, 59, 59)
    assert cal.shift_back(due, Duration.parse("1 week")) == utc(2025, 1, 6, 23, 59, 59)
    # Across spring-forward, 1 day back keeps the local wall-clock time.
    assert cal.shift_back(utc(2026, 3, 29, 9, 0), Duration.parse("1 day")) == utc(2026, 3, 28, 10)
    # Months clamp going backwards too: 31 Mar - 1 month -> 28 Feb.
    end_31_mar = cal.end_of_day(date(2026, 3, 31))
    assert cal.shift_back(end_31_mar, Duration.parse("1 month")) == utc(2026, 2, 28, 23, 59, 59)


# -- working hours -------------------------------------------------------------------


def test_is_within_working_hours(cal: Calendar) -> None:
    assert cal.is_within_working_hours(utc(2026, 1, 6, 9, 0))  # 09:00 GMT Tue
    assert not cal.is_within_working_hours(utc(2026, 1, 6, 8, 59, 59))
    assert not cal.is_within_working_hours(utc(2026, 1, 6, 17, 0))  # end is exclusive
    assert cal.is_within_working_hours(utc(2026, 7, 7, 8, 0))  # 09:00 BST
    assert not cal.is_within_working_hours(utc(2026, 7, 7, 16, 0))  # 17:00 BST
    assert not cal.is_within_working_hours(utc(2026, 1, 10, 12, 0))  # Saturday
    assert not cal.is_within_working_hours(utc(2026, 5, 25, 11, 0))  # Spring Bank Holiday


def test_next_working_moment(cal: Calendar) -> None:
    # Saturday -> Monday 09:00.
    assert cal.next_working_moment(utc(2026, 1, 10, 12, 0)) == utc(2026, 1, 12, 9, 0)
    # Friday 18:00 -> Monday 09:00.
    assert cal.next_working_moment(utc(2026, 1, 9, 18, 0)) == utc(2026, 1, 12, 9, 0)
    # Before 09:00 on a working day -> 09:00 today (BST: 08:00 UTC).
    assert cal.next_working_moment(utc(2026, 7, 7, 6, 30)) == utc(2026, 7, 7, 8, 0)
    # Spring Bank Holiday Mon 25 May 2026 -> Tue 26 May 09:00 BST.
    assert cal.next_working_moment(utc(2026, 5, 25, 7, 0)) == utc(2026, 5, 26, 8, 0)
    # Inside hours -> the instant itself.
    inside = utc(2026, 1, 6, 11, 17, 23)
    assert cal.next_working_moment(inside) == inside
    # Maundy Thursday 17:30 BST -> past Good Friday, the weekend and Easter Monday.
    assert cal.next_working_moment(utc(2026, 4, 2, 16, 30)) == utc(2026, 4, 7, 8, 0)
    # Friday before the spring change, evening -> Monday 09:00 BST.
    assert cal.next_working_moment(utc(2026, 3, 27, 20, 0)) == utc(2026, 3, 30, 8, 0)


def test_custom_working_hours_and_closures() -> None:
    cal = Calendar(working_hours=(time(8, 30), time(16, 30)), closure_days=[date(2026, 1, 12)])
    assert cal.next_working_moment(utc(2026, 1, 9, 16, 30)) == utc(2026, 1, 13, 8, 30)
    assert cal.is_within_working_hours(utc(2026, 1, 9, 16, 29))
