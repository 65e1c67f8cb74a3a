"""The `.eml` fixture corpus is well-formed where it should be (tests/support/eml/README.md)."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from tests.support.eml.build import EML_DIR, fixture_names, load, oversized_attachment

CASE_REF = "SI-2026-0001"
REQUEST_ID = "<request.SI-2026-0001.police@partnership.example>"
MALFORMED = "malformed.eml"

EXPECTED_FIXTURES = {
    "referral.eml",
    "referral_missing_fields.eml",
    "reply_in_reply_to.eml",
    "reply_subject_token_only.eml",
    "reply_forwarded_colleague.eml",
    "reply_wrong_domain.eml",
    "out_of_office.eml",
    "bounce.eml",
    "duplicate_a.eml",
    "duplicate_b.eml",
    "html_only.eml",
    "non_utf8.eml",
    "attachment_path_name.eml",
    "unknown.eml",
    "malformed.eml",
    "media_forwarded.eml",
    "media_direct.eml",
}


def loaded(name: str) -> bytes:
    return load(name, request_message_id=REQUEST_ID, case_ref=CASE_REF)


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def message_id(name: str) -> str:
    return str(parse(loaded(name))["Message-ID"])


def test_corpus_is_complete() -> None:
    assert set(fixture_names()) == EXPECTED_FIXTURES


def test_readme_lists_every_fixture() -> None:
    readme = (EML_DIR / "README.md").read_text(encoding="utf-8")
    for name in [*fixture_names(), "oversized_attachment"]:
        assert f"`{name}" in readme, name


@pytest.mark.parametrize("name", sorted(EXPECTED_FIXTURES - {MALFORMED}))
def test_fixture_parses_with_a_message_id(name: str) -> None:
    msg = parse(loaded(name))
    assert msg["Message-ID"] is not None
    assert str(msg["Message-ID"]).rstrip(">").endswith(".example")
    assert msg["From"] is not None and msg["Subject"] is not None
    assert not msg.defects, msg.defects
    for part in msg.walk():
        assert not part.defects, (name, part.get_content_type(), part.defects)


def test_malformed_fixture_parses_without_raising() -> None:
    msg = parse(loaded(MALFORMED))
    defects = [d for part in msg.walk() for d in part.defects]
    assert defects  # it really is broken
    for part in msg.walk():
        if not part.is_multipart():
            part.get_payload(decode=True)
    for header in ("From", "To", "Subject", "Date", "Message-ID"):
        str(msg[header])


@pytest.mark.parametrize("name", sorted(EXPECTED_FIXTURES))
def test_fixture_uses_lf_line_endings(name: str) -> None:
    raw = load(name)
    assert b"\r" not in raw
    assert raw.endswith(b"\n")


@pytest.mark.parametrize("name", sorted(EXPECTED_FIXTURES))
def test_substitution_leaves_no_placeholder(name: str) -> None:
    assert b"%%" not in loaded(name)


def test_message_ids_are_unique_except_the_duplicates() -> None:
    ids = {name: message_id(name) for name in fixture_names()}
    assert ids["duplicate_a.eml"] == ids["duplicate_b.eml"]
    del ids["duplicate_b.eml"]
    assert len(set(ids.values())) == len(ids)


def test_duplicate_b_is_a_plus_one_received_header() -> None:
    a, b = load("duplicate_a"), load("duplicate_b")
    assert b != a
    assert b.endswith(a)
    assert b[: len(b) - len(a)].startswith(b"Received: ")
    assert message_id("duplicate_a") == message_id("duplicate_b")


@pytest.mark.parametrize(
    "name",
    [
        "reply_in_reply_to",
        "reply_wrong_domain",
        "out_of_office",
        "duplicate_a",
    ],
)
def test_threaded_replies_point_at_the_request(name: str) -> None:
    assert parse(loaded(name))["In-Reply-To"] == REQUEST_ID


@pytest.mark.parametrize(
    "name", ["reply_subject_token_only", "reply_forwarded_colleague", "unknown", "referral"]
)
def test_unthreaded_messages_have_no_in_reply_to(name: str) -> None:
    msg = parse(loaded(name))
    assert msg["In-Reply-To"] is None and msg["References"] is None


def test_referral_has_every_labelled_field() -> None:
    body = parse(loaded("referral")).get_body(("plain",)).get_content()
    lines = set(body.splitlines())
    for line in (
        "Referring agency: la-csc",
        "Date of incident: 2026-11-16",
        "Date local authority became aware: 2026-11-17",
        "Outcome: death",
        "Abuse or neglect: suspected",
        "Legal status: CP plan",
        "Age band: 0-1",
        "Agencies involved: police, icb, acute-trust",
        "Parallel processes: police investigation, coroner",
        "Media interest: likely",
    ):
        assert line in lines, line
    assert "Poppy Placeholder" in body


def test_referral_missing_fields_has_only_two_fields() -> None:
    body = parse(loaded("referral_missing_fields")).get_body(("plain",)).get_content()
    labelled = [line for line in body.splitlines() if ": " in line]
    assert labelled == ["Date of incident: 2026-11-18", "Outcome: serious harm"]


@pytest.mark.parametrize(
    ("name", "filenames"),
    [
        ("reply_in_reply_to", ["igt-police.pdf"]),
        ("reply_subject_token_only", ["IGT return.docx"]),
        ("reply_forwarded_colleague", ["police-igt.xlsx"]),
        ("attachment_path_name", ["../../etc/passwd", "C:\\Windows\\evil.bat"]),
    ],
)
def test_attachments(name: str, filenames: list[str]) -> None:
    msg = parse(loaded(name))
    attachments = list(msg.iter_attachments())
    assert [a.get_filename() for a in attachments] == filenames
    assert all(a.get_content() for a in attachments)


def test_police_pdf_looks_like_a_pdf() -> None:
    (pdf,) = parse(loaded("reply_in_reply_to")).iter_attachments()
    data = pdf.get_content()
    assert data.startswith(b"%PDF-1.4") and 200 <= len(data) <= 1000


def test_out_of_office_is_auto_submitted() -> None:
    msg = parse(loaded("out_of_office"))
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert "I am out of the office until Monday" in msg.get_content()


def test_bounce_is_a_delivery_status_report() -> None:
    msg = parse(loaded("bounce"))
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    types = [part.get_content_type() for part in msg.iter_parts()]
    assert types == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    status = msg.get_payload(1).get_payload()
    recipient = status[1]
    assert recipient["Final-Recipient"] == "rfc822; safeguarding@school.example"
    assert recipient["Action"] == "failed" and recipient["Status"] == "5.1.1"
    headers = parse(msg.get_payload(2).get_payload(decode=True))
    assert headers["Message-ID"] == REQUEST_ID
    assert f"[{CASE_REF}]" in headers["Subject"]


def test_html_only_has_no_plain_text() -> None:
    msg = parse(loaded("html_only"))
    assert not msg.is_multipart()
    assert msg.get_content_type() == "text/html"
    assert msg.get_body(("plain",)) is None


def test_non_utf8_is_really_latin1() -> None:
    raw = loaded("non_utf8")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert b"caf\xe9" in raw and b"\xa32.50" in raw
    msg = parse(raw)
    assert msg["Subject"] == f"[{CASE_REF}] Information gathering return - Saint-Rémy site"
    body = msg.get_content()
    assert "café" in body and "£2.50" in body


def test_unknown_has_no_case_token_and_no_list_headers() -> None:
    raw = loaded("unknown")
    assert b"SI-" not in raw and b"[" not in raw
    msg = parse(raw)
    assert not [h for h in msg if h.lower().startswith("list-") or h.lower() == "precedence"]


def test_load_substitutes_at_byte_level() -> None:
    raw = load("non_utf8", case_ref=CASE_REF)
    assert raw == load("non_utf8").replace(b"%%CASE_REF%%", CASE_REF.encode("ascii"))
    untouched = load("reply_in_reply_to", case_ref=CASE_REF)
    assert b"%%REQUEST_MESSAGE_ID%%" in untouched


def test_load_rejects_bad_substitutions() -> None:
    with pytest.raises(TypeError):
        load("referral", case_reference=CASE_REF)
    with pytest.raises(ValueError):
        load("reply_in_reply_to", request_message_id="request@partnership.example")
    with pytest.raises(ValueError):
        load("reply_in_reply_to", case_ref="SI-2026-0001\nBcc: x@y.example")
    with pytest.raises(ValueError):
        load("../gateway")


@pytest.mark.parametrize("size", [0, 9, 1000, 3 * 1024 * 1024 + 7])
def test_oversized_attachment_builder(size: int) -> None:
    raw = oversized_attachment(CASE_REF, size)
    assert b"\r" not in raw
    assert raw == oversized_attachment(CASE_REF, size)  # deterministic
    msg = parse(raw)
    assert msg["From"].addresses[0].addr_spec == "reviews@police.example"
    assert msg["Subject"] == f"[{CASE_REF}] Information gathering return"
    assert str(msg["Message-ID"]).endswith("@police.example>")
    assert not [d for part in msg.walk() for d in part.defects]
    (attachment,) = msg.iter_attachments()
    assert attachment.get_filename() == "big-scan.pdf"
    data = attachment.get_content()
    assert len(data) == size
    assert data.startswith(b"%PDF-1.4"[: min(size, 8)])
