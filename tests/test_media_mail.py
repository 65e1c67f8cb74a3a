"""Reading a media enquiry out of mail to the press address (handlers/mail/media_mail.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.protocol import load_protocol
from handlers.mail.classify import parse
from handlers.mail.media_mail import is_to_press_address, parse_deadline, read_enquiry
from tests.support.eml.build import load

#: Wednesday 18 November 2026, 10:00 London (GMT).
WED_10 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-18T16:00", datetime(2026, 11, 18, 16, 0, tzinfo=UTC)),
        ("4pm today", datetime(2026, 11, 18, 16, 0, tzinfo=UTC)),
        ("today at 16:30", datetime(2026, 11, 18, 16, 30, tzinfo=UTC)),
        ("tomorrow 10:30", datetime(2026, 11, 19, 10, 30, tzinfo=UTC)),
        ("by 3pm", datetime(2026, 11, 18, 15, 0, tzinfo=UTC)),
        ("20/11/2026 09:00", datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),
        ("20/11/2026", datetime(2026, 11, 20, 17, 0, tzinfo=UTC)),  # a day alone: end of day
        ("asap", None),
        ("31/02/2026", None),
        ("12", None),  # a bare number is not a time
    ],
)
def test_deadlines_as_people_write_them(text: str, expected: datetime | None) -> None:
    assert parse_deadline(text, WED_10, "Europe/London") == expected


def test_summer_time_deadline_is_london_time() -> None:
    june = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    assert parse_deadline("4pm today", june, "Europe/London") == datetime(2026, 6, 10, 15, 0, tzinfo=UTC)


def test_a_forwarded_enquiry_keeps_the_journalist_as_the_contact() -> None:
    protocol = load_protocol(None)
    parsed = parse(load("media_forwarded"))
    assert is_to_press_address(parsed, protocol)
    mail = read_enquiry(parsed, protocol, WED_10)
    assert mail.forwarded_by == "press.liaison@police.example"
    assert mail.data.contact == "sam.writer@post.example" and mail.data.journalist == "Sam Writer"
    assert mail.data.outlet == "Evening Post" and mail.data.subject == "case"
    assert mail.data.case_ref == "SI-2026-0001"
    assert mail.data.journalist_deadline == datetime(2026, 11, 18, 16, 0, tzinfo=UTC)
    assert mail.notes == []


def test_a_journalist_writing_in_directly() -> None:
    protocol = load_protocol(None)
    parsed = parse(load("media_direct"))
    mail = read_enquiry(parsed, protocol, WED_10)
    assert mail.forwarded_by is None
    assert mail.data.contact == "alex.reporter@radio.example" and mail.data.journalist == "Alex Reporter"
    assert mail.data.subject == "partnership" and mail.data.outlet == "Example Community Radio"
    assert mail.data.journalist_deadline == datetime(2026, 11, 19, 10, 30, tzinfo=UTC)


def test_what_cannot_be_read_is_said_not_guessed() -> None:
    raw = (b"From: someone@news.example\nTo: media@partnership.example\nSubject: quick question\n"
           b"Message-ID: <q1@news.example>\n\nCan you comment on the inquest?\nDeadline: soonish\n")
    mail = read_enquiry(parse(raw), load_protocol(None), WED_10)
    assert mail.data.outlet == "news.example"
    assert mail.data.journalist_deadline is None and mail.data.subject == "inquest"
    assert any("deadline not understood" in n for n in mail.notes)
    assert any("outlet not stated" in n for n in mail.notes)
    assert "deadline not understood" in mail.data.summary


def test_mail_to_another_address_is_not_a_media_enquiry() -> None:
    assert not is_to_press_address(parse(load("referral")), load_protocol(None))
