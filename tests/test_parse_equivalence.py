"""The intake's fast parse gives what the standard library's parser gives (docs/benchmarks.md).

``handlers.mail.classify.parse`` skips long base64 runs while parsing, decodes them in one call
and reads a few headers without building header objects. Whatever it does, the attachments,
headers and body text must equal the plain ``email.message_from_bytes`` reading: checked on the
``.eml`` corpus and on generated messages (LF and CRLF, nested multiparts, odd line lengths,
text that looks like base64, attachments that are not valid base64).
"""

from __future__ import annotations

import base64
import random
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from handlers.mail.classify import MSG_ID, body_text, parse
from handlers.mail.mime_parts import leaf_attachments
from tests.support.eml.build import fixture_names, load, oversized_attachment


def expected(raw: bytes) -> dict[str, object]:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    try:
        attachments = [
            # Every leaf attachment of the standard library's tree (handlers/mail/mime_parts.py):
            # an undecodable payload is empty.
            (a.filename, a.content_type, a.payload) for a in leaf_attachments(msg, {})
        ]
    except Exception:
        attachments = []
    ids = MSG_ID.findall(str(msg.get("Message-ID", "")))
    return {
        "message_id": ids[0] if ids else None,
        "subject": " ".join(str(msg.get("Subject", "")).split()),
        "thread": MSG_ID.findall(str(msg.get("In-Reply-To", "")))
        + MSG_ID.findall(str(msg.get("References", ""))),
        "attachments": attachments,
        "text": body_text(msg),
    }


def actual(raw: bytes) -> dict[str, object]:
    parsed = parse(raw)
    return {
        "message_id": parsed.message_id if MSG_ID.fullmatch(parsed.message_id) else None,
        "subject": parsed.subject,
        "thread": parsed.thread_ids,
        "attachments": [(a.filename, a.content_type, a.payload) for a in parsed.attachments()],
        "text": parsed.text,
    }


def same(raw: bytes) -> None:
    want, got = expected(raw), actual(raw)
    want["thread"] = list(dict.fromkeys(want["thread"]))  # type: ignore[arg-type]
    assert got == want


@pytest.mark.parametrize("name", [n for n in fixture_names() if n != "malformed.eml"])
def test_the_corpus_parses_as_the_standard_library_parses_it(name: str) -> None:
    same(load(name, request_message_id="<req.1@partnership.example>", case_ref="SI-2026-0001"))


def test_a_large_attachment_parses_as_the_standard_library_parses_it() -> None:
    raw = oversized_attachment("SI-2026-0001", 300_000)
    same(raw)
    # ...and through the fast path, not the fallback: its base64 was decoded in one call.
    assert parse(raw)._whole_runs


def _message(rng: random.Random, n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Reviews <reviews@police.example>"
    msg["To"] = "reviews@partnership.example"
    msg["Subject"] = rng.choice(["[SI-2026-0001] Return", "Re: request", "Fwd: =?x", "Ünïcode subject"])
    msg["Message-ID"] = f"<gen.{n}@police.example>"
    if rng.random() < 0.5:
        msg["In-Reply-To"] = f"<req.{n}@partnership.example>"
    body = "\n".join(rng.choice(["Please find attached.", "AAAA" * 19, "-- ", "x: y", ""]) for _ in range(40))
    msg.set_content(body)
    if rng.random() < 0.3:
        msg.add_alternative(f"<p>{body[:200]}</p>", subtype="html")
    for k in range(rng.choice([0, 1, 1, 2])):
        size = rng.choice([10, 3000, 5000, 60_000, 250_000])
        data = rng.randbytes(size)
        msg.add_attachment(data, maintype="application", subtype=rng.choice(["pdf", "octet-stream"]),
                           filename=f"file-{k}.pdf")
    raw = msg.as_bytes()
    if rng.random() < 0.5:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return raw


@pytest.mark.parametrize("seed", range(40))
def test_generated_messages_parse_as_the_standard_library_parses_them(seed: int) -> None:
    rng = random.Random(seed)
    same(_message(rng, seed))


@pytest.mark.parametrize("width", [60, 64, 76, 77, 100])
def test_unusual_line_lengths_and_a_broken_last_line(width: int) -> None:
    data = random.Random(width).randbytes(40_000)
    encoded = base64.b64encode(data)
    lines = [encoded[i:i + width] for i in range(0, len(encoded), width)]
    for tail in (b"", b"!!notbase64", b"===="):
        body = b"\n".join(lines) + (b"\n" + tail if tail else b"")
        raw = (
            b"From: a@police.example\nTo: reviews@partnership.example\nSubject: odd\n"
            b"Message-ID: <odd.%d@police.example>\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nhi\n"
            b"--b1\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"x.pdf\"\n"
            b"Content-Transfer-Encoding: base64\n\n" % width + body + b"\n--b1--\n"
        )
        same(raw)
