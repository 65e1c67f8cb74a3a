"""Reading an inbound message: parse it defensively and say what kind of message it is.

Pure functions over bytes: no database, no mailbox. Any message, however broken, yields a
:class:`ParsedMessage`; the worst case is an empty one that goes to the triage list.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage, Message
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any, cast

from bot.inbound import InboundAttachment, digest_of, synthetic_message_id
from bot.mail.authresults import from_address
from handlers.mail.fastparse import READ_POLICY, TooMuch, message_from_raw
from handlers.mail.mime_parts import leaf_attachments
from handlers.mail.outline import Limits
from handlers.mail.referral_form import labelled_fields, looks_like_a_referral_form

#: A case's reference in a subject: a child's (SI), a SAR (SAR) or a complaint (CO): the prefixes of
#: bot.cases, bot.sar and bot.complaints (decision 0028). A media enquiry's (ME) is not a case.
CASE_REF = re.compile(r"\[\s*((?:SI|SAR|CO)-\d{4}-\d{4,})\s*\]", re.IGNORECASE)
MSG_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv)\s*:", re.IGNORECASE)
AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?reply|out of (the )?office|auto)\s*:", re.IGNORECASE
)




# --- limits: what the intake reads of a message it does not trust (decision 0010) -----------
#: CPU time (this thread's, ``time.thread_time``) a message may take to read before it goes to
#: triage unread. A safety net: with the caps below every message the benchmark could build reads
#: in a few milliseconds. CPU time, not wall time, so a busy machine or a busy Slack thread never
#: sends an ordinary message to triage.
BUDGET_SECONDS = 0.25
#: The header block (up to the first blank line) a message may have.
MAX_HEADER_BLOCK = 128 * 1024
#: MIME containers (multiparts, attached messages) a message may declare.
MAX_CONTAINERS = 64
#: Body text kept for classification and labels; HTML is cut before it is turned into text.
MAX_TEXT_CHARS = 256 * 1024
MAX_HTML_CHARS = 64 * 1024
#: What the fast parse checks before it parses (handlers/mail/fastparse.py, ``over_limits``).
LIMITS = Limits(header_block=MAX_HEADER_BLOCK, containers=MAX_CONTAINERS)


@dataclass
class ParsedMessage:
    message_id: str
    msg: EmailMessage | None
    from_addr: str = ""
    from_domain: str = ""
    subject: str = ""
    thread_ids: list[str] = field(default_factory=list)
    case_refs: list[str] = field(default_factory=list)
    is_reply: bool = False
    auto_reply: bool = False
    bounce: bool = False
    bounced_ids: list[str] = field(default_factory=list)
    has_attachments: bool = False
    #: what marked the message as automatic ("auto-submitted: auto-generated"...), or None
    auto_marker: str | None = None
    #: why the message was not read (over a limit or the time budget); it goes to triage
    unreadable: str | None = None
    digest: str = ""
    #: a media enquiry's reading (handlers/mail/media_mail.MediaMail), done before the lock
    enquiry: Any = None
    _text: str | None = None
    _fields: dict[str, str] | None = None
    _attachments: list[InboundAttachment] | None = None
    #: base64 bytes of the parts that are one canonical run, by ``id(part)`` (see parse)
    _whole_runs: dict[int, bytes] = field(default_factory=dict, repr=False)

    @property
    def text(self) -> str:
        """The plain-text body (HTML turned into text); decoded only when a route needs it."""
        if self._text is None:
            self._text = body_text(self.msg) if self.msg is not None else ""
        return self._text

    @property
    def fields(self) -> dict[str, str]:
        """The body's "Label: value" lines (handlers/mail/referral_form.py)."""
        if self._fields is None:
            self._fields = labelled_fields(self.text)
        return self._fields

    @property
    def referral_like(self) -> bool:
        """Reads as a new referral, whatever marks it carry (see :func:`looks_like_referral`)."""
        return not (self.is_reply or self.case_refs or self.bounce) and looks_like_a_referral_form(
            self.subject, self.fields
        )

    def attachments(self) -> Iterator[InboundAttachment]:
        """The attachments of every leaf part, decoded; none when the MIME tree cannot be
        walked (a broken tree still leaves the raw message in the database)."""
        if self._attachments is None:
            self._attachments = self._read_attachments()
        yield from self._attachments

    def _read_attachments(self) -> list[InboundAttachment]:
        if self.msg is None or not self.has_attachments:
            return []
        try:
            return list(leaf_attachments(self.msg, self._whole_runs))
        except Exception:
            return []

    def read_all(self, deadline: float) -> None:
        """Do every reading a route may need now, before the intake takes the database's write
        lock; past ``deadline`` (``time.thread_time``) the message is left unread."""
        # The text is only needed where a referral may be (or a media enquiry, read by the
        # intake itself): a reply's body is never read.
        wanted = not (self.is_reply or self.case_refs or self.bounce)
        steps = (
            (lambda: self.text, lambda: self.fields) if wanted else ()
        ) + (lambda: list(self.attachments()),)
        for step in steps:
            if self.unreadable is None and time.thread_time() > deadline:
                self.unreadable = f"it took longer than {BUDGET_SECONDS * 1000:.0f} ms to read"
            if self.unreadable is not None:
                self._text, self._fields, self._attachments = "", {}, []
                return
            step()


def looks_like_referral(parsed: ParsedMessage) -> bool:
    """A new referral: not a reply, not about a case, not automatic mail (process.md 7.1)."""
    return not parsed.auto_marker and parsed.referral_like


def _header(msg: Message, name: str) -> str:
    """``str(msg[name])`` for the first such header; "" when it is absent or unreadable."""
    return _Headers(msg).read(name)


class _Headers:
    """The headers of one message, each name's first value found in one pass over them (a
    message is asked for about ten names, half of them absent), read as :func:`_header` says."""

    def __init__(self, msg: Message) -> None:
        self.msg = msg
        self.first: dict[str, Any] = {}
        for key, value in msg.raw_items():
            self.first.setdefault(key.lower(), value)

    def read(self, name: str) -> str:
        wanted = name.lower()
        if wanted not in self.first:
            return ""
        plain = _plain_text(wanted, self.first[wanted])
        if plain is not None:
            return plain
        try:
            parsed = self.msg.get(name)
            return "" if parsed is None else str(parsed)
        except Exception:  # a header the parser cannot make sense of counts as absent
            return ""


#: One message id and nothing else: what nearly every Message-ID header holds.
_PLAIN_MSG_ID = re.compile(r"[ \t]*<[^<>\s\"\\()\[\]@,;:]+@[^<>\s\"\\()\[\]@,;:]+>[ \t]*")


def _plain_text(name: str, value: Any) -> str | None:
    """The text the parsed header would give, read without parsing it, or None to parse it.

    Message-ID, In-Reply-To, References and Subject differ in nearly every message, so the
    parsed-header cache cannot help them, and parsing them cost about a fifth of ``parse``
    (docs/benchmarks.md). Without the line breaks (which the policy drops first), an
    unstructured header in ASCII without encoded words ("=?") parses back to the same text,
    and so does a Message-ID that is one plain ``<local@domain>``.
    """
    if not isinstance(value, str):
        return None
    text = value.replace("\r", "").replace("\n", "")
    if not text.isascii() or "=?" in text:
        return None
    if name == "message-id":
        return text if _PLAIN_MSG_ID.fullmatch(text) else None
    return text if _is_unstructured(name) else None


@lru_cache(maxsize=256)
def _is_unstructured(name: str) -> bool:
    # policy.default's header_factory is a HeaderRegistry; the policy type only promises a callable.
    registry = cast(HeaderRegistry, READ_POLICY.header_factory)
    return issubclass(registry.registry.get(name, registry.default_class), UnstructuredHeader)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("br", "p", "div", "tr", "li"):
            self.parts.append("\n")


def html_to_text(html: str) -> str:
    parser = _Text()
    try:
        parser.feed(html)
    except Exception:
        return ""
    return "".join(parser.parts)


def body_text(msg: EmailMessage) -> str:
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        content = part.get_content()
        if not isinstance(content, str):
            return ""
        if part.get_content_type() == "text/html":
            return html_to_text(content[:MAX_HTML_CHARS])
        return content[:MAX_TEXT_CHARS]
    except Exception:
        return ""


_QUOTED_ID = re.compile(r"(?im)^message-id:[ \t]*(<[^>\s]+>)")


def _bounced_ids(msg: EmailMessage) -> list[str]:
    """Message-IDs of the original message quoted inside a delivery status notification."""
    found: list[str] = []
    try:
        for part in msg.walk():
            ctype = part.get_content_type()
            if ctype == "text/rfc822-headers":
                payload = part.get_payload(decode=True)  # bytes, or None for a multipart
                text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
                found += _QUOTED_ID.findall(text[:MAX_TEXT_CHARS])
            elif ctype == "message/rfc822":
                inner = part.get_payload()
                if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                    found += MSG_ID.findall(_header(inner[0], "Message-ID"))
    except Exception:
        pass
    return found


def _is_bounce(msg: EmailMessage, headers: _Headers, from_addr: str) -> bool:
    local = from_addr.split("@", 1)[0]
    if local in ("mailer-daemon", "postmaster"):
        return True
    if headers.read("X-Failed-Recipients"):
        return True
    ctype = msg.get_content_type()
    return ctype == "multipart/report" and "delivery-status" in msg.get_param("report-type", "")


#: RFC 3834 section 5's value for a reply (an out-of-office), and the vendor headers that
#: only vacation responders set (libraries.md section 7).
_REPLY_MARKERS = ("auto-submitted: auto-replied", "x-autoreply", "x-autorespond",
                  "precedence: auto_reply", "subject")


_RFC3834 = frozenset({"auto-generated", "auto-replied", "auto-notified"})


def _auto_marker(headers: _Headers, subject: str, has_attachments: bool) -> str | None:
    """What marks the message as sent by a machine, or None. X-Auto-Response-Suppress is a
    request, not a sign: normal Outlook mail carries it."""
    auto_submitted = headers.read("Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        kind = auto_submitted.split(";", 1)[0].strip()
        # RFC 3834 section 5 keywords only: the value is the sender's text and the marker is
        # shown in triage reasons.
        return f"auto-submitted: {kind if kind in _RFC3834 else 'other'}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if headers.read(name):
            return name.lower()
    precedence = headers.read("Precedence").strip().lower()
    if precedence in ("auto_reply", "bulk", "junk"):
        return f"precedence: {precedence}"
    # The subject alone is a weak signal: only trusted when nothing is attached.
    return "subject" if AUTO_SUBJECT.match(subject) and not has_attachments else None


def is_out_of_office(parsed: ParsedMessage) -> bool:
    """An automatic reply (out-of-office) and nothing more: nothing attached, marked as a reply."""
    return parsed.auto_marker in _REPLY_MARKERS and not parsed.has_attachments


def parse(raw: bytes, *, deadline: float | None = None) -> ParsedMessage:
    """Read ``raw`` within the limits above; past ``deadline`` (``time.thread_time``; default
    :data:`BUDGET_SECONDS` from now) or over a limit it is returned ``unreadable``."""
    if deadline is None:
        deadline = time.thread_time() + BUDGET_SECONDS
    digest = digest_of(raw)
    try:
        msg, whole_runs = message_from_raw(raw, LIMITS)  # header values cut as they are read
    except TooMuch as exc:
        return ParsedMessage(message_id=synthetic_message_id(raw, digest), msg=None,
                             unreadable=str(exc), digest=digest)
    except Exception:
        return ParsedMessage(message_id=synthetic_message_id(raw, digest), msg=None, digest=digest)
    parsed = _read_headers(raw, msg, whole_runs, digest)
    if time.thread_time() > deadline:
        parsed.unreadable = f"it took longer than {BUDGET_SECONDS * 1000:.0f} ms to read"
    return parsed


#: A Message-ID longer than this, or with anything but printable ASCII in it (a NUL, say), is not
#: used: PostgreSQL refuses NUL in text and a btree entry over ~2.7 KB, and one refused insert must
#: not hold up the mailbox (RFC 5322 ids are short printable ASCII anyway). Such a message is
#: recorded under the digest-based synthetic id instead.
MAX_MESSAGE_ID = 500


def usable_ids(ids: list[str]) -> list[str]:
    return [i for i in ids if len(i) <= MAX_MESSAGE_ID and i.isascii() and i.isprintable()]


def _read_headers(
    raw: bytes, msg: EmailMessage, whole_runs: dict[int, bytes], digest: str
) -> ParsedMessage:
    headers = _Headers(msg)
    ids = usable_ids(MSG_ID.findall(headers.read("Message-ID")))
    message_id = ids[0] if ids else synthetic_message_id(raw, digest)
    try:
        from_addr, from_domain = from_address(msg)
    except Exception:
        from_addr, from_domain = "", ""
    if not (from_addr.isprintable() and from_domain.isprintable()):
        from_addr, from_domain = "", ""  # a NUL or control character: no address we can store or trust
    subject = " ".join(headers.read("Subject").split())
    thread_ids = usable_ids(MSG_ID.findall(headers.read("In-Reply-To")) + MSG_ID.findall(
        headers.read("References")
    ))
    try:
        has_attachments = any(True for _ in msg.iter_attachments())
    except Exception:
        has_attachments = False
    bounce = _is_bounce(msg, headers, from_addr)
    marker = None if bounce else _auto_marker(headers, subject, has_attachments)
    return ParsedMessage(
        message_id=message_id, msg=msg, from_addr=from_addr, from_domain=from_domain,
        subject=subject, thread_ids=list(dict.fromkeys(thread_ids)),
        case_refs=list(dict.fromkeys(r.upper() for r in CASE_REF.findall(subject))),
        is_reply=bool(thread_ids) or bool(REPLY_PREFIX.match(subject)),
        auto_reply=marker is not None, auto_marker=marker,
        bounce=bounce, bounced_ids=_bounced_ids(msg) if bounce else [],
        has_attachments=has_attachments, _whole_runs=whole_runs, digest=digest,
    )


