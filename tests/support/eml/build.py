"""Helpers for the ``.eml`` fixture corpus in this folder (see ``README.md`` here).

``load`` reads a fixture and fills in its placeholders at byte level, so fixtures that are not
UTF-8 stay byte-identical. ``oversized_attachment`` builds the one fixture too big to commit.
"""

from __future__ import annotations

import base64
from pathlib import Path

EML_DIR = Path(__file__).resolve().parent

#: Substitution keyword -> the placeholder it replaces in the fixture bytes.
PLACEHOLDERS: dict[str, bytes] = {
    "request_message_id": b"%%REQUEST_MESSAGE_ID%%",
    "case_ref": b"%%CASE_REF%%",
}


def fixture_names() -> list[str]:
    """Every committed fixture's file name, sorted."""
    return sorted(p.name for p in EML_DIR.glob("*.eml"))


def load(name: str, **subs: str) -> bytes:
    """The fixture ``name`` (with or without ``.eml``) as bytes, placeholders substituted.

    Keys: ``request_message_id`` (the full id with its angle brackets, e.g. the value
    ``send`` returned: ``"<abc@partnership.example>"``) and ``case_ref`` (e.g.
    ``"SI-2026-0001"``). Placeholders without a substitution are left as they are.
    """
    file_name = name if name.endswith(".eml") else f"{name}.eml"
    if Path(file_name).name != file_name:
        raise ValueError(f"fixture name must be a plain file name: {name!r}")
    unknown = sorted(set(subs) - set(PLACEHOLDERS))
    if unknown:
        raise TypeError(f"unknown substitution(s) {unknown}; known: {sorted(PLACEHOLDERS)}")
    raw = (EML_DIR / file_name).read_bytes()
    for key, value in subs.items():
        raw = raw.replace(PLACEHOLDERS[key], _encode(key, value))
    return raw


def oversized_attachment(case_ref: str, size: int) -> bytes:
    """A police return whose one attachment, ``big-scan.pdf``, is exactly ``size`` bytes.

    Built on demand because the tests need it larger than ``attachment_max_bytes`` (20 MiB by
    default), which is too big to commit. Same conventions as the committed fixtures: LF line
    endings, ``.example`` addresses, a Message-ID that is the same for the same arguments.
    """
    if size < 0:
        raise ValueError("size must not be negative")
    ref = _encode("case_ref", case_ref).decode("ascii")
    data = _pdf_like(size)
    boundary = "police-oversized-5e0c"
    head = (
        "From: Example Constabulary Reviews <reviews@police.example>\n"
        "To: Safeguarding Reviews <reviews@partnership.example>\n"
        f"Subject: [{ref}] Information gathering return\n"
        "Date: Thu, 19 Nov 2026 16:20:00 +0000\n"
        f"Message-ID: <oversized.{size}.{_token(ref)}@police.example>\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\n'
        "\n"
        f"--{boundary}\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "Content-Transfer-Encoding: 7bit\n"
        "\n"
        "Hello,\n"
        "\n"
        "Our return is attached as a scan of the completed paper form.\n"
        "\n"
        "Reviews team, Public Protection Unit\n"
        "Example Constabulary\n"
        "\n"
        f"--{boundary}\n"
        'Content-Type: application/pdf; name="big-scan.pdf"\n'
        'Content-Disposition: attachment; filename="big-scan.pdf"\n'
        "Content-Transfer-Encoding: base64\n"
        "\n"
    ).encode("ascii")
    tail = f"\n--{boundary}--\n".encode("ascii")
    return head + base64.encodebytes(data).rstrip(b"\n") + tail


def _encode(key: str, value: str) -> bytes:
    if any(c in value for c in "\r\n\0"):
        raise ValueError(f"{key} must be a single line")
    if key == "request_message_id" and not (value.startswith("<") and value.endswith(">")):
        raise ValueError("request_message_id must be the full id, angle brackets included")
    return value.encode("ascii")


def _token(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "-" for c in text) or "none"


def _pdf_like(size: int) -> bytes:
    """``size`` deterministic bytes that start like a PDF and are otherwise binary filler."""
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    filler = bytes(range(256))
    repeat = -(-max(size - len(head), 0) // len(filler))
    return (head + filler * repeat)[:size]
