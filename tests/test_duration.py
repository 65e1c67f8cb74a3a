"""Tests for Duration (bot/duration.py): the strict reading of a protocol's timescales."""

from __future__ import annotations

import pytest

from bot.duration import Duration


@pytest.mark.parametrize(
    ("text", "value", "unit", "canonical"),
    [
        ("48 hours", 48, "hours", "48 hours"),
        ("1 hour", 1, "hours", "1 hour"),
        ("14 days", 14, "days", "14 days"),
        ("1 day", 1, "days", "1 day"),
        ("5 working days", 5, "working_days", "5 working days"),
        ("1 working day", 1, "working_days", "1 working day"),
        ("2 weeks", 2, "weeks", "2 weeks"),
        ("1 week", 1, "weeks", "1 week"),
        ("6 months", 6, "months", "6 months"),
        ("1 month", 1, "months", "1 month"),
        ("0 days", 0, "days", "0 days"),
        ("15 WORKING DAYS", 15, "working_days", "15 working days"),
        ("  5   Working   Days  ", 5, "working_days", "5 working days"),
        ("\t48\tHours\n", 48, "hours", "48 hours"),
        ("12 Months", 12, "months", "12 months"),
    ],
)
def test_duration_parse_accepted_forms(text: str, value: int, unit: str, canonical: str) -> None:
    d = Duration.parse(text)
    assert d == Duration(value, unit)  # type: ignore[arg-type]
    assert str(d) == canonical
    assert Duration.parse(str(d)) == d


@pytest.mark.parametrize(
    "text",
    [
        "48 hrs",
        "five days",
        "",
        "   ",
        "-3 days",
        "+3 days",
        "3",
        "days",
        "3 fortnights",
        "3.5 days",
        "3days",
        "5 working",
        "5 workingdays",
        "3 days later",
        "٣ days",
    ],
)
def test_duration_parse_rejects_bad_text_helpfully(text: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        Duration.parse(text)
    message = str(excinfo.value)
    assert repr(text) in message  # quotes what it was given
    for form in ("hours", "days", "weeks", "working days", "months"):
        assert form in message  # and says what it accepts


@pytest.mark.parametrize(("value", "unit"), [(-1, "days"), (1, "fortnights"), (True, "days")])
def test_duration_constructor_validates(value: object, unit: str) -> None:
    with pytest.raises(ValueError):
        Duration(value, unit)  # type: ignore[arg-type]
