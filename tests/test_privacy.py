"""The privacy guard (bot.privacy): what typed text may reach a Slack channel or a log line."""

from __future__ import annotations

import pytest

from bot.privacy import (
    MAX_SCAN,
    REMOVED,
    identifiers_in,
    log_message,
    log_text,
    mrkdwn_escape,
    redact,
    safe_label,
    safe_message,
)

DATES = [
    "13/03/2019", "13/3/19", "1-3-2019", "13.03.2019", "2019-03-13", "2019/03/13",
    "13 March 2019", "13th March 2019", "1st of June 2020", "13 Mar 19", "March 13, 2019",
    "Mar 13th 2019", "13-Mar-2019", "13 SEPT 2019",
]
NHS = ["9434765919", "943 476 5919", "943-476-5919"]
POSTCODES = ["SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "ec1a1bb", "W1A 0AX"]
PHONES = ["07700 900123", "07700900123", "+44 7700 900123", "(01632) 960 001", "0161 496 0000",
          "+44 (0)161 496 0000"]
EMAILS = ["jo.bloggs@example.org", "a+b@mail.example.co.uk"]


@pytest.mark.parametrize("text", DATES)
def test_dates_in_many_forms_are_found_and_removed(text: str) -> None:
    assert identifiers_in(f"born {text} at home") == ["date"]
    assert redact(f"born {text} at home") == f"born {REMOVED} at home"


@pytest.mark.parametrize("text", NHS)
def test_nhs_numbers_plain_or_spaced_3_3_4(text: str) -> None:
    assert "nhs-number" in identifiers_in(f"NHS no {text}.")
    assert redact(f"NHS no {text}.") == f"NHS no {REMOVED}."


@pytest.mark.parametrize("text", POSTCODES)
def test_uk_postcodes(text: str) -> None:
    assert identifiers_in(f"lives near {text}") == ["postcode"]
    assert redact(f"lives near {text}") == f"lives near {REMOVED}"


@pytest.mark.parametrize("text", PHONES)
def test_telephone_numbers(text: str) -> None:
    out = redact(f"call {text} today")
    assert out == f"call {REMOVED} today", out


@pytest.mark.parametrize("text", EMAILS)
def test_email_addresses(text: str) -> None:
    assert identifiers_in(f"write to {text}") == ["email"]
    assert redact(f"write to {text}") == f"write to {REMOVED}"


@pytest.mark.parametrize("text", [
    "SI-2026-0001", "ME-2026-0012", "Evening Post", "BBC Radio 4", "Channel 4 News", "ITV1",
    "Example Community Radio", "The Times, page 3", "Sky News at 10", "5 Live", "2026",
    "Radio 1 Newsbeat", "The Guardian (2 reporters)", "Police", "icb", "la-csc",
])
def test_no_false_positives_on_references_and_outlets(text: str) -> None:
    assert identifiers_in(text) == []
    assert redact(text) == text


def test_escape_neutralises_mentions_links_and_entities() -> None:
    assert mrkdwn_escape("<!channel> <!here> <@U123> <https://evil.example|click> a & b") == (
        "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt; a &amp; b"
    )
    # Escaping twice shows the first escape, which is what the user typed ("&lt;" as text).
    assert mrkdwn_escape("&lt;") == "&amp;lt;"


def test_safe_label_redacts_escapes_folds_and_bounds() -> None:
    label = safe_label("<!channel> Post\nDOB 13/03/2019 NHS 943 476 5919 CR2 6XH", field="outlet")
    assert label == f"&lt;!channel&gt; Post DOB {REMOVED} NHS {REMOVED} {REMOVED}"
    assert "\n" not in safe_label("a\nb\r\nc", field="outlet")
    assert safe_label("x" * 500, field="outlet", limit=80) == "x" * 79 + "…"
    assert safe_label("   ", field="outlet") == "not given"
    assert safe_label(None, field="outlet", empty="-") == "-"


def test_log_text_gives_only_the_shape() -> None:
    assert log_text("Jo Bloggs, 13/03/2019, SW1A 1AA") == "<31 chars; contains date, postcode>"
    assert log_text("") == "<empty>"
    message = log_message(ValueError("no agency 'jo@x.example' born 13/03/2019"))
    assert message == f"ValueError: no agency <value> born {REMOVED}"  # quoted: typed or sent


def test_bounded_work_on_hostile_input() -> None:
    # Long runs of the characters the patterns start with: only MAX_SCAN characters are read.
    for hostile in ("1" * 100_000, "1 " * 50_000, "a@" * 50_000, "13/" * 30_000, "+44 " * 25_000):
        out = redact(hostile)
        assert len(out) <= MAX_SCAN
        assert "1" * 10 not in out  # and a run of digits is not let through


def test_safe_message_keeps_lines_and_removes_identifiers() -> None:
    text = "no case 'SI-2026-0009 13/03/2019'\nsee <!here>"
    assert safe_message(text) == f"no case 'SI-2026-0009 {REMOVED}'\nsee &lt;!here&gt;"
    assert len(safe_message("x" * 5000)) == 500


def test_a_database_error_is_logged_without_the_statement_or_the_quoted_row() -> None:
    """SQLAlchemy's own text carries the statement's parameters (raw mail, a name); the driver's
    DETAIL line quotes the row. A log line keeps the error's kind and nothing typed or sent."""
    import sqlite3

    from sqlalchemy.exc import IntegrityError

    driver = sqlite3.IntegrityError('UNIQUE constraint failed: case.ref\nDETAIL: Key (ref)=(Jo Bloggs)')
    wrapped = IntegrityError("INSERT INTO inboundmessage (raw, from_addr) VALUES (?, ?)",
                             (b"Dear team, Jo Bloggs born 13/03/2019", "jo@family.example"), driver)
    assert "Jo Bloggs" in str(wrapped)  # what log.exception would have printed
    line = log_message(wrapped)
    assert line == "IntegrityError: UNIQUE constraint failed: case.ref"
    assert log_message(ValueError("unknown agency 'Jo Bloggs'")) == "ValueError: unknown agency <value>"
