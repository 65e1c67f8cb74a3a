"""The reading of untrusted text on its own (no database): the fast parse still builds the
standard library's tree around long blank runs, the label reader reads what the old pattern
read (in linear time), and the limits of decision 0010 say why a message was not read."""

from __future__ import annotations

import random
import re

import pytest

from bot.inbound import safe_display_name, strip_format_controls
from bot.usecases.mail_referral import read_referral
from handlers.mail.classify import parse
from handlers.mail.fastparse import MAX_HEADER_CHARS
from handlers.mail.line_runs import Run, base64_runs, blank_runs, gaps_between
from handlers.mail.referral_form import labelled_fields
from tests.support.hostile import REFERRAL_FORM, deep_nesting, encoded_words, huge_headers, referral
from tests.test_parse_equivalence import same


def _runs(raw: bytes) -> list[Run]:
    return blank_runs(raw, gaps_between(raw, base64_runs(raw)))


#: The pattern the intake used before (quadratic on long blank runs and trailing spaces), for
#: comparison on ordinary lines only.
OLD_LABEL = re.compile(r"^\s*([A-Za-z][A-Za-z '()/-]{2,60}?)\s*:\s*(.+?)\s*$")


def old_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        m = OLD_LABEL.match(line)
        if m:
            fields.setdefault(m.group(1).strip().lower(), m.group(2))
    return fields


def test_labels_are_read_as_the_old_pattern_read_them() -> None:
    rng = random.Random(7)
    pieces = ["Outcome", "Date of incident", "Child's legal status", "x", "Agency (lead)", "1abc",
              "", " ", "\t", ":", "death", "12/11/2026", "a: b: c", "https://x.example/a:b"]
    for _ in range(300):
        text = "\n".join("".join(rng.choice(pieces) for _ in range(rng.randint(0, 5)))
                         for _ in range(rng.randint(0, 12)))
        assert labelled_fields(text) == old_fields(text), text


@pytest.mark.parametrize("filler", [b"\n", b"\r\n", b" \n", b"\t \r\n", b"\n\n \n"])
@pytest.mark.parametrize("where", ["body", "attachment", "preamble"])
def test_long_blank_runs_parse_as_the_standard_library_parses_them(filler: bytes, where: str) -> None:
    run = filler * (20_000 // len(filler))
    head = b"From: a@police.example\nMessage-ID: <b@police.example>\nSubject: x\n"
    if where == "body":
        raw = head + b"\nline one\n\n" + run + b"line two\n"
    else:
        parts = (b"--z\nContent-Type: text/plain\n\nhello\n\n" + run + b"\n--z\n"
                 b'Content-Type: text/plain\nContent-Disposition: attachment; filename="a.txt"\n\n'
                 + (run if where == "attachment" else b"") + b"text\n--z--\n")
        raw = (head + b'Content-Type: multipart/mixed; boundary="z"\n\n'
               + (b"preamble\n\n" + run if where == "preamble" else b"") + parts)
    assert any(r.blank for r in _runs(raw)) or where == "preamble"
    same(raw)
    same(raw.replace(b"\n", b"\r\n"))


def test_an_attached_message_is_left_to_the_ordinary_parse() -> None:
    raw = (b"From: a@police.example\nMessage-ID: <m@police.example>\nContent-Type: message/rfc822\n\n"
           + b"\n" * 9000
           + b"Subject: inner\n\nbody\n")
    assert not any(r.blank for r in _runs(raw))
    same(raw)


def test_long_headers_are_cut_before_they_are_parsed() -> None:
    parsed = parse(encoded_words("", "", 4_000))
    assert parsed.unreadable is None
    assert 0 < len(parsed.subject) <= MAX_HEADER_CHARS
    assert parsed.subject.startswith("w0éw1éw2é")  # RFC 2047 section 6.2: adjacent words join


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (encoded_words("", "", 15_000), "its header is longer than 128 KB"),
        (huge_headers("", "", 20_000), "its header is longer than 128 KB"),
        (deep_nesting("", "", 65), "it has more than 64 nested MIME parts"),
    ],
)
def test_a_message_over_a_limit_is_not_read_and_says_why(raw: bytes, why: str) -> None:
    parsed = parse(raw)
    assert parsed.unreadable == why and parsed.msg is None
    parsed.read_all(float("inf"))
    assert parsed.text == "" and list(parsed.attachments()) == []


def test_a_message_past_its_deadline_is_left_unread() -> None:
    parsed = parse(referral(REFERRAL_FORM, "late@borough.example"), deadline=0.0)
    assert parsed.unreadable and "took longer than" in parsed.unreadable
    parsed = parse(referral(REFERRAL_FORM, "late@borough.example"))
    parsed.read_all(deadline=0.0)
    assert parsed.unreadable and parsed.fields == {}


def test_one_unreadable_field_leaves_the_others_read() -> None:
    from datetime import date

    from bot.protocol import load_protocol

    text = REFERRAL_FORM.replace("Date of incident: 12/11/2026", "Date of incident: 31/02/2026")
    ref, notes = read_referral(labelled_fields(text), load_protocol(None), date(2026, 11, 16))
    assert ref.incident_date is None and ref.outcome == "death" and ref.legal_status == "cp-plan"
    assert notes == ["date of incident (could not be read as a past date)"]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("report\u202efdp.exe", "reportfdp.exe"),
        ("\u2066evil\u2069.pdf", "evil.pdf"),
        ("a\u200b\u200c\u200d\u200e\u200fb.docx", "ab.docx"),
        ("\ufeffbom.txt", "bom.txt"),
        ("soft\u00adhyphen\u2060.pdf", "softhyphen.pdf"),  # other Cf characters too
        ("café.pdf", "café.pdf"),
    ],
)
def test_format_controls_are_stripped_from_file_names(name: str, shown: str) -> None:
    assert safe_display_name(name) == shown
    assert strip_format_controls(name) == shown
