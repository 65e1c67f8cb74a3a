"""Reading a media enquiry out of mail to the press address (handlers/mail/media_mail.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from bot.media import QUESTION_LIMIT
from bot.protocol import load_protocol
from handlers.mail.classify import parse
from handlers.mail.media_mail import (
    MAX_SCAN,
    Unreadable,
    is_to_press_address,
    parse_deadline,
    read_enquiry,
)
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


# --- deadlines that cannot be a moment (issue 9) -------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "31/02/2026",  # no such day
        "31/02/2026 16:00",
        "1/1/99999",  # year 99999
        "20/11/2026 99:99",  # absurd hours
        "today 37:00",
        "tomorrow 25pm",
        "0pm",
        "9999-12-31T23:30-05:00",  # past the last datetime once in UTC
        "0001-01-01T00:30+05:00",  # before the first
        "1/1/9999 23:00",  # representable, but no journalist waits 7,000 years
        "2031-01-01T10:00",
    ],
)
def test_unrepresentable_deadlines_are_unreadable(text: str) -> None:
    with pytest.raises(Unreadable):
        parse_deadline(text, WED_10, "Europe/London")


def press_mail(body: str, *, subject: str = "comment please", headers: str = "") -> bytes:
    return (
        f"From: Alex Reporter <alex.reporter@radio.example>\nTo: media@partnership.example\n"
        f"Subject: {subject}\nMessage-ID: <q@radio.example>\nMIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n{headers}\n{body}"
    ).encode()


@pytest.mark.parametrize(
    "deadline", ["31/02/2026 16:00", "1/1/99999", "today 37:00", "9999-12-31T23:30-05:00"]
)
def test_an_unreadable_deadline_is_a_note_not_an_error(deadline: str) -> None:
    raw = press_mail(f"What happened?\nOutlet: Radio\nDeadline: {deadline}\nAbout: a case\n")
    mail = read_enquiry(parse(raw), load_protocol(None), WED_10)
    assert mail.data.journalist_deadline is None
    assert any(n.startswith(f"deadline cannot be read ({deadline[:40]}") for n in mail.notes)
    assert "ask the journalist" in mail.data.summary


# --- the question (issue 9 item 7) ---------------------------------------------------------------


def test_the_direct_question_is_kept_without_the_labels() -> None:
    mail = read_enquiry(parse(load("media_direct")), load_protocol(None), WED_10)
    assert mail.data.question == (
        "Hello,\n\nWe are running a piece on the partnership's latest annual report.\n\nThanks,\nAlex"
    )


def test_the_forwarded_question_is_the_journalists_words_with_the_forwarders_note() -> None:
    mail = read_enquiry(parse(load("media_forwarded")), load_protocol(None), WED_10)
    question = mail.data.question
    assert question.startswith("Hello, I am writing a story about the death of Poppy Placeholder")
    assert "whether a review will take place.\n\nSam Writer\nEvening Post" in question
    assert question.endswith(
        "[the forwarder's note] Passing this on as the protocol asks. We have not responded."
    )
    assert "From: Sam Writer" not in question and "Outlet:" not in question


def test_quoted_history_and_signature_are_trimmed() -> None:
    body = (
        "Does the partnership expect to publish the review this year?\n\n"
        "On Tue, 17 Nov 2026, Press Office wrote:\n> We will come back to you.\n> OLD-HISTORY\n"
    )
    mail = read_enquiry(parse(press_mail(body)), load_protocol(None), WED_10)
    assert mail.data.question == "Does the partnership expect to publish the review this year?"
    body = "When will it be published?\n-- \nAlex Reporter\nRadio SIGNATURE\n"
    assert read_enquiry(parse(press_mail(body)), load_protocol(None), WED_10).data.question == (
        "When will it be published?"
    )
    body = "Why?\n\n________________________________\nFrom: Someone\nOLD-HISTORY\n"
    assert read_enquiry(parse(press_mail(body)), load_protocol(None), WED_10).data.question == "Why?"


def test_a_long_question_is_bounded_and_control_characters_dropped() -> None:
    body = "Why\x1b[31m now?\u202e\n" + "word " * 5000 + "\nTHE-END\n"
    question = read_enquiry(parse(press_mail(body)), load_protocol(None), WED_10).data.question
    assert len(question) <= QUESTION_LIMIT
    assert question.startswith("Why[31m now?\n")  # ESC and the bidi override are gone
    assert question.endswith("[shortened: the full message is in the mailbox]")
    assert "THE-END" not in question


def test_an_attached_original_gives_the_journalist_and_the_question() -> None:
    inner = EmailMessage()
    inner["From"] = "Sam Writer <sam.writer@post.example>"
    inner["Subject"] = "Request for comment"
    inner.set_content("Will there be a review?\n\n> older quoted text\n")
    outer = EmailMessage()
    outer["From"] = "Press Liaison <press.liaison@police.example>"
    outer["To"] = "media@partnership.example"
    outer["Subject"] = "Fwd: Request for comment"
    outer["Message-ID"] = "<fwd-attached@police.example>"
    outer.set_content("See attached.\nOutlet: Evening Post\nDeadline: 4pm today\n")
    outer.add_attachment(inner)
    mail = read_enquiry(parse(outer.as_bytes()), load_protocol(None), WED_10)
    assert mail.data.contact == "sam.writer@post.example" and mail.data.journalist == "Sam Writer"
    assert mail.data.question == "Will there be a review?\n\n[the forwarder's note] See attached."
    assert mail.forwarded_by == "press.liaison@police.example"


def test_only_the_first_part_of_a_huge_body_is_read() -> None:
    # Labels past MAX_SCAN are not read; pathological lines are simply text.
    filler = ("a: " + " " * 300 + "b" + "\n") * (MAX_SCAN // 100)
    raw = press_mail(f"Outlet: Radio\n{filler}Deadline: 4pm today\n")
    mail = read_enquiry(parse(raw), load_protocol(None), WED_10)
    assert mail.data.outlet == "Radio"
    assert mail.data.journalist_deadline is None
    assert "no deadline stated" in mail.data.summary


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("media@partnership.example", True),
        ("Partnership Media <Media@Partnership.Example>", True),
        ('"Reviews" <reviews@partnership.example>, media@partnership.example', True),
        ("=?utf-8?q?M=C3=A9dia?= <media@partnership.example>", True),
        ("social.media@partnership.example", False),
        ("media@partnership.example.evil", False),
        ("reviews@partnership.example", False),
        ('"' * 50_000, False),  # quadratic for the header parser; a linear scan here
    ],
)
def test_the_press_address_is_found_in_the_raw_recipients(to: str, expected: bool) -> None:
    raw = f"From: a@radio.example\nTo: {to}\nSubject: x\nMessage-ID: <t@radio.example>\n\nhi\n".encode()
    assert is_to_press_address(parse(raw), load_protocol(None)) is expected


def test_a_press_address_in_cc_counts() -> None:
    raw = (b"From: a@radio.example\nTo: someone@else.example\nCc: Media <media@partnership.example>\n"
           b"Subject: x\nMessage-ID: <cc@radio.example>\n\nhi\n")
    assert is_to_press_address(parse(raw), load_protocol(None))


def test_an_outlook_forward_gives_the_journalist_and_the_question() -> None:
    raw = (
        b"From: Press Liaison <press.liaison@police.example>\nTo: media@partnership.example\n"
        b"Subject: FW: Request for comment\nMessage-ID: <outlook-fw@police.example>\n\n"
        b"For the partnership.\nOutlet: Evening Post\nDeadline: 4pm today\n\n"
        b"________________________________\nFrom: Sam Writer <sam.writer@post.example>\n"
        b"Sent: 18 November 2026 09:30\nTo: press@police.example\nSubject: Request for comment\n\n"
        b"Will the partnership hold a review?\n\n"
        b"________________________________\nFrom: Earlier Thread <old@post.example>\nOLD-HISTORY\n"
    )
    mail = read_enquiry(parse(raw), load_protocol(None), WED_10)
    assert mail.forwarded_by == "press.liaison@police.example"
    assert (mail.data.journalist, mail.data.contact) == ("Sam Writer", "sam.writer@post.example")
    assert mail.data.question == (
        "Will the partnership hold a review?\n\n[the forwarder's note] For the partnership."
    )


def test_bidi_and_zero_width_characters_are_stripped_from_the_names_an_enquiry_keeps() -> None:
    """A right-to-left override makes "Evening News\u202egpj.exe" read otherwise (issue 9 item 3)."""
    raw = (
        "From: \"Sam\u202eReporter\u200b\" <sam@news.example>\r\nTo: press.office@borough.example\r\n"
        "Subject: Question\u2066 about a review\r\nMessage-ID: <bidi@news.example>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nOutlet: Evening\u202e News\r\n\r\nWhat happened?\r\n"
    ).encode()
    mail = read_enquiry(parse(raw), load_protocol(None), WED_10)
    for value in (mail.data.outlet, mail.data.journalist, mail.data.summary):
        assert not any(c in value for c in "\u202e\u200b\u2066"), value
    assert mail.data.outlet == "Evening News"
