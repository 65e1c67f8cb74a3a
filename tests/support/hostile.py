"""A hostile corpus for the intake, generated (issue 9 items 1 and 3): messages built to be slow
or to hide something, each with what the intake must make of it.

Used by tests/test_hostile_*.py and bench/intake_worst.py. Every message is built here from
code; nothing is copied from real mail. Addresses are on ``.example`` domains.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

#: Filled in by the caller: the Message-ID of a request the bot sent, and a case reference.
REQUEST_ID = "%%REQUEST%%"
CASE_REF = "%%CASE%%"

DOCX = b"PK\x03\x04" + bytes(range(256)) * 8  # a zip header and some bytes: a .docx to the intake
PDF = b"%PDF-1.7\n" + bytes(range(200, 256)) * 40
P7S = b"0\x82\x05\x00\x06\x09*\x86H\x86\xf7\r\x01\x07\x02" + bytes(64)


@dataclass(frozen=True)
class Hostile:
    name: str
    #: the pathology the message exercises (a class of the worst-case benchmark)
    kind: str
    build: Callable[[str, str], bytes]  # (request Message-ID, case ref) -> bytes
    #: what the intake must classify it as
    classification: str
    #: a piece of the triage reason, or None when it must not be in triage
    triage: str | None = None
    #: [(content type, role)] of the stored attachments, in order; None: not checked
    attachments: list[tuple[str, str | None]] | None = None


def _b64(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))


def _head(
    sender: str, subject: str, mid: str, *, extra: str = "", to: str = "reviews@partnership.example"
) -> str:
    return (
        f"From: {sender}\nTo: {to}\nSubject: {subject}\nDate: Mon, 16 Nov 2026 09:00:00 +0000\n"
        f"Message-ID: <{mid}>\nMIME-Version: 1.0\n{extra}"
    )


REFERRAL_FORM = (
    "Referring agency: la-csc\nDate of incident: 12/11/2026\n"
    "Date local authority became aware: 13/11/2026\nOutcome: death\nAbuse or neglect: yes\n"
    "Legal status: cp plan\nAgencies involved: police, icb\n"
)


def referral(body: str, mid: str, *, subject: str = "Referral: serious incident", extra: str = "",
             sender: str = "duty.manager@borough.example") -> bytes:
    return (_head(sender, subject, mid, extra=extra)
            + "Content-Type: text/plain; charset=utf-8\n\n" + body).encode("utf-8", "surrogatepass")


def _return(request_id: str, mid: str, parts: str, *, boundary: str, ctype: str = "multipart/mixed",
            extra: str = "", sender: str = "reviews@police.example", params: str = "") -> bytes:
    head = _head(sender, "RE: Information gathering request", mid,
                 extra=f"In-Reply-To: {request_id}\n{extra}")
    return (head + f'Content-Type: {ctype}; boundary="{boundary}"{params}\n\n' + parts
            + f"--{boundary}--\n").encode()


def _part(ctype: str, body: str, *, filename: str | None = None, b64: bool = False) -> str:
    disp = f'Content-Disposition: attachment; filename="{filename}"\n' if filename else ""
    cte = "Content-Transfer-Encoding: base64\n" if b64 else ""
    return f"Content-Type: {ctype}\n{disp}{cte}\n{body}\n"


def signed_return(request_id: str, _ref: str, *, crlf: bool = False) -> bytes:
    """S/MIME: multipart/signed around a multipart/mixed with the return as a .docx."""
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    inner = (
        '--inner\n' + _part("text/plain; charset=us-ascii", "Our return is attached.")
        + '--inner\n' + _part(docx, _b64(DOCX), filename="return.docx", b64=True) + "--inner--\n"
    )
    parts = (
        '--outer\nContent-Type: multipart/mixed; boundary="inner"\n\n' + inner + "\n"
        + "--outer\n" + _part('application/pkcs7-signature; name="smime.p7s"', _b64(P7S),
                              filename="smime.p7s", b64=True)
    )
    raw = _return(request_id, "signed.1@police.example", parts, boundary="outer",
                  ctype="multipart/signed",
                  params='; protocol="application/pkcs7-signature"; micalg=sha-256')
    return raw.replace(b"\n", b"\r\n") if crlf else raw


def forwarded_return(request_id: str, _ref: str) -> bytes:
    """The agency's lead forwards a colleague's message, with its PDF, as an attachment."""
    inner = (
        "From: colleague@police.example\nTo: lead@police.example\nSubject: chronology\n"
        "Message-ID: <inner.1@police.example>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="fwd"\n\n'
        "--fwd\n" + _part("text/plain", "Chronology attached.")
        + "--fwd\n" + _part("application/pdf", _b64(PDF), filename="chronology.pdf", b64=True)
        + "--fwd--\n"
    )
    parts = ("--out\n" + _part("text/plain", "Forwarding our colleague's return.")
             + '--out\nContent-Type: message/rfc822\nContent-Disposition: attachment; '
             'filename="fwd.eml"\n\n' + inner + "\n")
    return _return(request_id, "forwarded.1@police.example", parts, boundary="out")


def nested_return(request_id: str, _ref: str, depth: int = 5) -> bytes:
    """A PDF at the bottom of ``depth`` nested multipart/mixed parts."""
    body = "--b0\n" + _part("application/pdf", _b64(PDF), filename="deep.pdf", b64=True) + "--b0--\n"
    for level in range(1, depth):
        body = (f"--b{level}\n" + _part("text/plain", "level") + f"--b{level}\n"
                f'Content-Type: multipart/mixed; boundary="b{level - 1}"\n\n{body}\n--b{level}--\n')
    return _return(request_id, f"nested.{depth}@police.example",
                   f"--top\n{_part('text/plain', 'see below')}--top\n"
                   f'Content-Type: multipart/mixed; boundary="b{depth - 1}"\n\n{body}\n',
                   boundary="top")


def deep_nesting(_request_id: str, _ref: str, depth: int = 200) -> bytes:
    body = "Content-Type: text/plain\n\nhello\n"
    for level in range(depth):
        body = f'Content-Type: multipart/mixed; boundary="n{level}"\n\n--n{level}\n{body}\n--n{level}--\n'
    return (_head("x@police.example", "deep", f"deep.{depth}@police.example") + body).encode()


def encoded_words(_request_id: str, _ref: str, count: int = 3000, *, where: str = "Subject") -> bytes:
    words = " ".join(f"=?utf-8?q?w{i}=C3=A9?=" for i in range(count))
    subject = words if where == "Subject" else "hello"
    extra = f"{where}: {words}\n" if where != "Subject" else ""
    return (_head("someone@mail.example.net", subject, f"enc.{count}.{where}@mail.example.net",
                  extra=extra) + "Content-Type: text/plain\n\nhello\n").encode()


def huge_headers(_request_id: str, _ref: str, count: int = 20000) -> bytes:
    extra = "".join(f"X-Filler-{i}: {'v' * 8}\n" for i in range(count))
    return (_head("someone@mail.example.net", "hello", f"hdrs.{count}@mail.example.net", extra=extra)
            + "Content-Type: text/plain\n\nhello\n").encode()


def long_from(_request_id: str, _ref: str, count: int = 1500) -> bytes:
    sender = ", ".join(f"=?utf-8?q?n{i}?= <a{i}@police.example>" for i in range(count))
    return (_head(sender, "Referral", f"from.{count}@police.example")
            + "Content-Type: text/plain\n\n" + REFERRAL_FORM).encode()


def bidi_return(request_id: str, _ref: str) -> bytes:
    """File names that read as something else: a right-to-left override and zero-width marks,
    sent RFC 2231-encoded as a mail client would."""
    rlo = "report\u202efdp.exe"
    zw = "chrono\u200blogy\ufeff.pdf"
    parts = "--bd\n" + _part("text/plain", "Return attached.")
    for name in (rlo, zw):
        encoded = quote(name, safe="")
        parts += (f"--bd\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
                  f"Content-Disposition: attachment; filename*=utf-8''{encoded}\n\n{_b64(PDF)}\n")
    return _return(request_id, "bidi.1@police.example", parts, boundary="bd")


def auto_generated(kind: str) -> Callable[[str, str], bytes]:
    def build(request_id: str, _ref: str) -> bytes:
        marker = "Auto-Submitted: auto-generated\n"
        if kind == "referral-x-autoreply":
            return referral(REFERRAL_FORM, "auto.ref2@borough.example", extra="X-Autoreply: yes\n")
        if kind == "referral":
            return referral(REFERRAL_FORM, "auto.ref@borough.example", extra=marker)
        if kind == "media":
            return (_head("desk@news.example.com", "Question about the review", "auto.media@news.example.com",
                          extra=marker, to="media@partnership.example")
                    + "Content-Type: text/plain\n\nWe are writing a story about the review.\n").encode()
        if kind == "return-precedence":
            marker = "Precedence: bulk\n"
        parts = ("--ag\n" + _part("text/plain", "Case system export attached.")
                 + "--ag\n" + _part("application/pdf", _b64(PDF), filename="export.pdf", b64=True))
        return _return(request_id, f"auto.{kind}@police.example", parts, boundary="ag", extra=marker)
    return build


def out_of_office(header: str, n: int) -> Callable[[str, str], bytes]:
    def build(request_id: str, _ref: str) -> bytes:
        head = _head("reviews@police.example", "Automatic reply: Information gathering request",
                     f"ooo.{n}@police.example",
                     extra=f"In-Reply-To: {request_id}\n{header}\n")
        return (head + "Content-Type: text/plain\n\nI am out of the office until Monday.\n").encode()
    return build


def _blank_lines(n: int, *, spaces: bool = False, before: bool = False) -> Callable[[str, str], bytes]:
    filler = (" \t \n" if spaces else "\n") * n
    body = filler + REFERRAL_FORM if before else REFERRAL_FORM + filler + "Regards\n"
    return lambda _i, _r: referral(body, f"blank.{n}.{spaces}.{before}@borough.example")


def _spaces_after_label(n: int, *, tail: str) -> Callable[[str, str], bytes]:
    body = REFERRAL_FORM.replace("Outcome: death\n", f"Outcome: death{' ' * n}{tail}\n")
    return lambda _i, _r: referral(body, f"spaces.{n}.{len(tail)}@borough.example",
                                   subject="New case")


def _bad_dates(value: str, tag: str) -> Callable[[str, str], bytes]:
    body = REFERRAL_FORM.replace("Date of incident: 12/11/2026", f"Date of incident: {value}")
    return lambda _i, _r: referral(body, f"baddate.{tag}@borough.example",
                                   extra="Date: not a date at all, 99 Foo 2026 99:99\n")


def _noise(seed: int, size: int) -> Callable[[str, str], bytes]:
    rng = random.Random(seed)
    return lambda _i, _r: bytes(rng.getrandbits(8) for _ in range(size))


def _reference_only(request_id: str, ref: str) -> bytes:
    parts = "--r\n" + _part("text/plain", "Return attached.") + "--r\n" + _part(
        "application/pdf", _b64(PDF), filename="r.pdf", b64=True)
    raw = _return("<none@x.example>", "byref.1@police.example", parts, boundary="r")
    return raw.replace(b"RE: Information gathering request", f"[{ref}] Information gathering".encode())


DOC = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
REF_TRIAGE = None  # a referral from an agency's domain opens a case: not in triage

CORPUS: list[Hostile] = [
    *(Hostile(f"blank-lines-{n}", "blank lines", _blank_lines(n), "referral")
      for n in (10_000, 100_000, 300_000)),
    *(Hostile(f"blank-ws-lines-{n}", "blank lines", _blank_lines(n, spaces=True), "referral")
      for n in (10_000, 80_000)),
    *(Hostile(f"blank-lines-first-{n}", "blank lines", _blank_lines(n, before=True), "referral")
      for n in (1_000, 200_000)),
    *(Hostile(f"spaces-after-label-{n}-{tag}", "spaces after a label", _spaces_after_label(n, tail=tail),
              "referral") for n in (1_000, 30_000, 300_000) for tag, tail in (("end", ""), ("text", "x"))),
    *(Hostile(f"encoded-words-{n}", "encoded words", lambda i, r, n=n: encoded_words(i, r, n), "unknown",
              "matches no case") for n in (100, 1_000, 4_000)),
    Hostile("encoded-words-15000", "encoded words", lambda i, r: encoded_words(i, r, 15_000), "unknown",
            "header is longer than"),
    Hostile("encoded-words-in-to", "encoded words", lambda i, r: encoded_words(i, r, 3_000, where="To"),
            "unknown", "matches no case"),
    Hostile("encoded-words-in-references", "encoded words",
            lambda i, r: encoded_words(i, r, 3_000, where="References"), "unknown", "matches no case"),
    *(Hostile(f"huge-headers-{n}", "huge headers", lambda i, r, n=n: huge_headers(i, r, n), "unknown",
              why) for n, why in ((2_000, "matches no case"), (20_000, "header is longer than"))),
    Hostile("long-from", "huge headers", long_from, "unknown", "outside the partnership's agencies"),
    *(Hostile(f"deep-nesting-{n}", "deep nesting", lambda i, r, n=n: deep_nesting(i, r, n), "unknown",
              "nested MIME parts") for n in (65, 200, 2_000)),
    Hostile("nested-return-5", "nested parts", nested_return, "agency-return", None,
            [("application/pdf", None)]),
    Hostile("nested-return-30", "nested parts", lambda i, r: nested_return(i, r, 30), "agency-return",
            None, [("application/pdf", None)]),
    Hostile("signed-return", "S/MIME", signed_return, "agency-return", None,
            [(DOC, None), ("application/pkcs7-signature", "signature")]),
    Hostile("signed-return-crlf", "S/MIME", lambda i, r: signed_return(i, r, crlf=True), "agency-return",
            None, [(DOC, None), ("application/pkcs7-signature", "signature")]),
    Hostile("forwarded-return", "attached message", forwarded_return, "agency-return", None,
            [("message/rfc822", "message"), ("application/pdf", None)]),
    Hostile("bidi-file-names", "bidi names", bidi_return, "agency-return", None,
            [("application/pdf", None), ("application/pdf", None)]),
    Hostile("auto-generated-referral", "automatic mail", auto_generated("referral"), "unknown",
            "looks like a referral"),
    Hostile("x-autoreply-referral", "automatic mail", auto_generated("referral-x-autoreply"), "unknown",
            "marked as automatic mail (x-autoreply) but looks like a referral"),
    Hostile("auto-generated-return", "automatic mail", auto_generated("return"), "unknown",
            "looks like an agency return", [("application/pdf", None)]),
    Hostile("bulk-return", "automatic mail", auto_generated("return-precedence"), "unknown",
            "looks like an agency return"),
    Hostile("auto-generated-media", "automatic mail", auto_generated("media"), "unknown",
            "looks like a media enquiry"),
    *(Hostile(f"out-of-office-{n}", "automatic mail", out_of_office(h, n), "auto-reply")
      for n, h in enumerate(("Auto-Submitted: auto-replied", "X-Autoreply: yes", "Precedence: auto_reply"))),
    *(Hostile(f"bad-date-{tag}", "bad dates", _bad_dates(v, tag), "referral")
      for tag, v in (("feb31", "31/02/2026"), ("long", "9" * 900), ("future", "01/01/2099"),
                     ("words", "the day after the party"))),
    Hostile("by-reference", "nested parts", _reference_only, "agency-return", None,
            [("application/pdf", None)]),
    *(Hostile(f"noise-{n}", "noise", _noise(n, size), "unknown", "")
      for n, size in ((1, 0), (2, 7), (3, 50_000))),
]
