"""bot/dates.py reads what the mail intake reads, so the CLI and an email agree on a date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.dates import read_day, read_moment, uk_day, uk_time
from handlers.mail.media_deadline import Unreadable
from handlers.mail.media_mail import parse_deadline

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday


def intake_deadline(text: str, now: datetime, tz: str) -> datetime | None:
    """The media intake's reading; what it cannot read it says (a note), the CLI refuses (None)."""
    try:
        return parse_deadline(text, now, tz)
    except Unreadable:
        return None
LONDON = ZoneInfo("Europe/London")

DAYS = ["2026-12-31", "31/12/2026", "31-12-2026", "31 December 2026", "31 Dec 2026",
        "Thu 31 Dec 2026", "1/2/2027", " 16/11/2026. ", "31/02/2026", "12/31/2026", "tomorrow",
        "next week", "", "2026-13-01"]
MOMENTS = ["2026-11-23T16:00", "2026-11-23 16:00", "2026-11-23T16:00+00:00", "23/11/2026 16:00",
           "by 23/11/2026 at 4pm", "4pm today", "4.30pm", "tomorrow 10:30", "tonight", "today",
           "10:30", "noon-ish", "31/02/2026 10:00", "5", "by 5pm tomorrow", "23/11/2026"]


def test_days_read_as_a_person_means_them() -> None:
    expected = {"2026-12-31": date(2026, 12, 31), "31/12/2026": date(2026, 12, 31),
                "31-12-2026": date(2026, 12, 31), "31 December 2026": date(2026, 12, 31),
                "31 Dec 2026": date(2026, 12, 31), "Thu 31 Dec 2026": date(2026, 12, 31),
                "1/2/2027": date(2027, 2, 1), " 16/11/2026. ": date(2026, 11, 16)}
    for text in DAYS:
        assert read_day(text) == expected.get(text), text
    assert read_day("31/12/2026") == date(2026, 12, 31)  # day first, as in the UK


def test_moments_read_as_the_media_intake_reads_a_deadline() -> None:
    for text in MOMENTS:
        assert read_moment(text, NOW) == intake_deadline(text, NOW, "Europe/London"), text
    assert read_moment("tomorrow 10:30", NOW) == datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


def test_forms_the_intake_has_for_days_also_carry_a_time() -> None:
    expected = datetime(2026, 12, 31, 9, 30, tzinfo=UTC)  # GMT in December
    for text in ("31 December 2026 09:30", "Thu 31 Dec 2026 9:30am", "2026-12-31 09:30",
                 "31-12-2026 09:30"):
        assert read_moment(text, NOW) == expected, text
    assert read_moment("31/12/2026", NOW, default_time=time(9)) == datetime(2026, 12, 31, 9, tzinfo=UTC)
    assert read_moment("2026-12-31", NOW) == datetime(2026, 12, 31, 17, tzinfo=UTC)
    assert read_moment("yesterday 14:00", NOW) == datetime(2026, 11, 22, 14, tzinfo=UTC)
    summer = read_moment("01/07/2026 10:00", NOW)
    assert summer == datetime(2026, 7, 1, 9, tzinfo=UTC)  # British Summer Time


def test_what_is_not_a_date_is_refused_and_long_input_is_not_read() -> None:
    for text in ("31/02/2026 10:00", "soon", "", "32 Dec 2026", "1" * 10_000, "23/11/2026 " * 50):
        assert read_moment(text, NOW) is None, text[:40]
    assert read_day("1" * 10_000) is None
    assert read_day("today") is None  # relative words need the clock
    assert read_day("today", date(2026, 11, 23)) == date(2026, 11, 23)


def test_how_the_cli_says_what_it_understood() -> None:
    assert uk_day(date(2026, 12, 31)) == "Thursday 31 December 2026"
    assert uk_time(datetime(2026, 11, 23, 10, 0, 5, 123456, tzinfo=UTC)) == "Mon 23 Nov 2026 10:00"
    assert uk_time(datetime(2026, 7, 1, 9, 0, tzinfo=UTC)) == "Wed 1 Jul 2026 10:00"


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_a_uk_written_moment_round_trips(moment: datetime) -> None:
    # fold=0: the hour the clocks go back, written without an offset, reads as its first
    # occurrence (British Summer Time), as a datetime built from those digits does.
    local = moment.replace(second=0, microsecond=0, fold=0, tzinfo=LONDON)
    text = f"{local:%d/%m/%Y %H:%M}"
    expected = datetime.combine(local.date(), local.time(), tzinfo=LONDON).astimezone(UTC)
    assert read_moment(text, NOW) == expected
