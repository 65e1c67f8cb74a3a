"""Reading an inbound message: parse it defensively and say what kind of message it is.

Pure functions over bytes: no database, no mailbox. Any message, however broken, yields a
:class:`ParsedMessage`; the worst case is an empty one that goes to the triage list.
"""

from __future__ import annotations

import binascii
import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from email import message_from_bytes
from email.headerregistry import UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any, NamedTuple

from bot.cases import Referral
from bot.inbound import InboundAttachment, synthetic_message_id
from bot.mail.authresults import from_address
from bot.protocol import Protocol, UnknownAgency

CASE_REF = re.compile(r"\[\s*(SI-\d{4}-\d{4,})\s*\]", re.IGNORECASE)
MSG_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv)\s*:", re.IGNORECASE)
AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?reply|out of (the )?office|auto)\s*:", re.IGNORECASE
)


class _ReadPolicy(EmailPolicy):
    """``email.policy.default`` that parses each distinct header value once.

    The default policy builds a new header object on every read: ``get_content_type()`` alone
    re-parses Content-Type a dozen times per message while walking the MIME tree. Header objects
    are immutable, so one cache serves every message (docs/benchmarks.md).
    """

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if hasattr(value, "name") or not isinstance(value, str):
            return super().header_fetch_parse(name, value)
        return _parse_header(self, name, value)


@lru_cache(maxsize=8192)
def _parse_header(read_policy: EmailPolicy, name: str, value: str) -> Any:
    return EmailPolicy.header_fetch_parse(read_policy, name, value)


READ_POLICY = _ReadPolicy()


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
    _text: str | None = None
    #: base64 bytes of the parts that are one canonical run, by ``id(part)`` (see parse)
    _whole_runs: dict[int, bytes] = field(default_factory=dict, repr=False)

    @property
    def text(self) -> str:
        """The plain-text body (HTML turned into text); decoded only when a route needs it."""
        if self._text is None:
            self._text = body_text(self.msg) if self.msg is not None else ""
        return self._text

    def attachments(self) -> Iterator[InboundAttachment]:
        """The attachments, each decoded as it is reached; none when the MIME tree cannot be
        walked (a broken tree still leaves the raw message in the database)."""
        if self.msg is None or not self.has_attachments:
            return
        try:
            parts = list(self.msg.iter_attachments())
        except Exception:
            return
        for part in parts:
            yield InboundAttachment(
                filename=part.get_filename(), content_type=part.get_content_type(),
                payload=_decoded_payload(part, self._whole_runs),
            )


def _header(msg: EmailMessage, name: str) -> str:
    """``str(msg[name])`` for the first such header; "" when it is absent or unreadable."""
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            plain = _plain_text(wanted, value)
            if plain is not None:
                return plain
            break
    else:
        return ""
    try:
        parsed = msg.get(name)
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
    registry = READ_POLICY.header_factory
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
        return html_to_text(content) if part.get_content_type() == "text/html" else content
    except Exception:
        return ""


def _bounced_ids(msg: EmailMessage) -> list[str]:
    """Message-IDs of the original message quoted inside a delivery status notification."""
    found: list[str] = []
    try:
        for part in msg.walk():
            ctype = part.get_content_type()
            if ctype == "text/rfc822-headers":
                payload = part.get_payload(decode=True) or b""
                text = payload.decode("utf-8", "replace")
                found += re.findall(r"(?im)^message-id:\s*(<[^>\s]+>)", text)
            elif ctype == "message/rfc822":
                inner = part.get_payload()
                if isinstance(inner, list) and inner:
                    found += MSG_ID.findall(_header(inner[0], "Message-ID"))
    except Exception:
        pass
    return found


def _is_bounce(msg: EmailMessage, from_addr: str) -> bool:
    local = from_addr.split("@", 1)[0]
    if local in ("mailer-daemon", "postmaster"):
        return True
    if _header(msg, "X-Failed-Recipients"):
        return True
    ctype = msg.get_content_type()
    return ctype == "multipart/report" and "delivery-status" in msg.get_param("report-type", "")


def _is_auto_reply(msg: EmailMessage, subject: str, has_attachments: bool) -> bool:
    # RFC 3834 and the common vendor headers (libraries.md section 7). X-Auto-Response-Suppress
    # is a request, not a sign: normal Outlook mail carries it.
    auto_submitted = _header(msg, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond"):
        return True
    if _header(msg, "Precedence").strip().lower() in ("auto_reply", "bulk", "junk"):
        return True
    # The subject alone is a weak signal: only trusted when nothing is attached.
    return bool(AUTO_SUBJECT.match(subject)) and not has_attachments


# --- parsing without reading base64 line by line ------------------------------------------------
#
# The stdlib feed parser walks a message one line at a time: a 400 KB attachment is about 5,400
# base64 lines and 5 ms, most of the cost of a return (docs/benchmarks.md). A run of lines made
# only of the base64 alphabet plays no part in how the parser reads the structure: it cannot be a
# boundary (those start with "--"), a header or a continuation line (no ":", no leading blank),
# or a blank line. So each long run is swapped for one line holding a unique token of the same
# alphabet, the much shorter skeleton is parsed, and the token is swapped back in the payload that
# holds it. The tree is the one ``message_from_bytes(raw)`` builds; when a token does not come
# back exactly once, the whole message is parsed again the ordinary way.

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
#: Runs shorter than this (about 50 lines) are left to the feed parser: not worth a token.
_MIN_RUN = 4096


def _dash_lines(raw: bytes) -> list[int]:
    """Where each line that starts with "-" starts (every boundary line is one of them)."""
    found: list[int] = []
    i = raw.find(b"-")  # a byte search skips a base64 run at memory speed: it has no "-"
    for _ in range(256):
        if i < 0:
            return found
        if i > 0 and raw[i - 1] == 0x0A:
            found.append(i)
        i = raw.find(b"-", i + 1)
    if i >= 0:  # text full of hyphens: let the regex engine find the rest, not stop at each one
        found += [m.start() + 1 for m in _NEWLINE_DASH.finditer(raw, max(i - 1, 0))]
    return found


_NEWLINE_DASH = re.compile(rb"\n-")


class _Run(NamedTuple):
    """A run of base64 lines: ``raw[start:end]``, of which ``breaks`` bytes are line breaks."""

    start: int
    end: int
    breaks: int


def _whole_base64_lines(raw: bytes, start: int, end: int) -> _Run | None:
    """The part of ``raw[start:end]`` that is a run of non-empty base64 lines of one length
    (the last may be shorter), each ending in the same LF or CRLF; ``None`` if it is not one.

    Blank lines around the run are left out. Encoders write fixed-length lines; a run that is
    not written that way is simply left to the feed parser.
    """
    segment = raw[start:end]
    end = start + len(segment.rstrip(b"\r\n"))
    start += len(segment) - len(segment.lstrip(b"\r\n"))
    if end - start < _MIN_RUN or raw[start - 1] != 0x0A:
        return None
    eol = b"\r\n" if raw[end:end + 2] == b"\r\n" else b"\n" if raw[end:end + 1] == b"\n" else None
    if eol is None:
        return None
    end += len(eol)
    run = raw[start:end]
    width = run.find(b"\n") + 1  # one line, its line break included
    if width <= len(eol) or run[width - len(eol):width] != eol:
        return None
    full, tail = divmod(len(run), width)
    lines = full + (1 if tail else 0)
    if (
        run.translate(None, _B64_ALPHABET) != eol * lines  # nothing but the alphabet and breaks
        or run[width - 1::width] != b"\n" * full  # every line break where a line ends
        or (eol == b"\r\n" and run[width - 2::width] != b"\r" * full)  # no bare CR
        or (tail and tail <= len(eol))  # a last, shorter line that is not empty
    ):
        return None
    return _Run(start, end, lines * len(eol))


def _base64_runs(raw: bytes) -> list[_Run]:
    """[start, end) of each long run of whole lines that only hold base64 characters.

    Looked for where an encoded body sits: after the first blank line of a stretch of the
    message between two lines that start with "-" (boundaries). Where a run starts is only a
    guess; :func:`_whole_base64_lines` checks that what is swapped out is such a run.
    """
    if len(raw) < 2 * _MIN_RUN:
        return []
    crlf = raw[max(raw.find(b"\n"), 1) - 1] == 0x0D
    seps = (b"\r\n\r\n", b"\n\n") if crlf else (b"\n\n", b"\r\n\r\n")
    cuts = [0, *_dash_lines(raw), len(raw)]
    runs: list[_Run] = []
    for seg_start, seg_end in itertools.pairwise(cuts):
        if seg_end - seg_start < _MIN_RUN:
            continue
        blank = raw.find(seps[0], seg_start, seg_end)
        sep = seps[0]
        other = raw.find(seps[1], seg_start, blank if blank >= 0 else seg_end)
        if other >= 0:
            blank, sep = other, seps[1]
        if blank < 0:
            continue
        found = _whole_base64_lines(raw, blank + len(sep), seg_end)
        if found is not None:
            runs.append(found)
    return runs


def _message_from_bytes(raw: bytes) -> tuple[EmailMessage, dict[int, bytes]]:
    """``message_from_bytes(raw, policy=READ_POLICY)``, without feeding long base64 runs through
    the line-by-line parser (see above); and, by ``id(part)``, the base64 bytes of each part
    whose whole payload is one canonical run, to decode in one call."""
    try:
        runs = _base64_runs(raw)
        parsed = _parse_skeleton(raw, runs) if runs else None
    except Exception:  # whatever goes wrong here, the ordinary parse decides
        parsed = None
    if parsed is not None:
        return parsed
    msg = message_from_bytes(raw, policy=READ_POLICY)
    assert isinstance(msg, EmailMessage)
    return msg, {}


def _parse_skeleton(
    raw: bytes, runs: list[_Run]
) -> tuple[EmailMessage, dict[int, bytes]] | None:
    pieces: list[bytes] = []
    tokens: dict[str, tuple[str, bytes | None]] = {}
    last = 0
    salt = os.urandom(8).hex()
    for n, run in enumerate(runs):
        # The run's last line break stays: the parser gives it to the boundary that follows.
        eol = 2 if raw[run.end - 2:run.end] == b"\r\n" else 1
        stop = run.end - eol
        token = f"ReviewBotRun{n}x{salt}"
        if token.encode() in raw:
            return None
        encoded = raw[run.start:stop]
        canonical = _canonical_base64(encoded, run.end - run.start - run.breaks)
        pieces += (raw[last:run.start], token.encode())
        tokens[token] = (encoded.decode("ascii"), encoded if canonical else None)
        last = stop
    pieces.append(raw[last:])
    msg = message_from_bytes(b"".join(pieces), policy=READ_POLICY)
    assert isinstance(msg, EmailMessage)
    restored = 0
    whole: dict[int, bytes] = {}

    def put_back(value: str, part: EmailMessage | None = None) -> str:
        nonlocal restored
        for token, (text, encoded) in tokens.items():
            if token in value:
                if part is not None and encoded is not None and value.rstrip("\r\n") == token:
                    whole[id(part)] = encoded
                restored += value.count(token)
                value = value.replace(token, text)
        return value

    for part in msg.walk():
        payload = part._payload  # the undecoded text, as the parser stored it
        if isinstance(payload, str) and "ReviewBotRun" in payload:
            part.set_payload(put_back(payload, part))  # a str without a charset is kept as is
        if part.preamble and "ReviewBotRun" in part.preamble:
            part.preamble = put_back(part.preamble)
        if part.epilogue and "ReviewBotRun" in part.epilogue:
            part.epilogue = put_back(part.epilogue)
    # Each token exactly once, or the skeleton was not read as expected: parse the real thing.
    return (msg, whole) if restored == len(tokens) else None


def _canonical_base64(encoded: bytes, digits: int) -> bool:
    """Whether the run (``digits`` alphabet characters, the rest line breaks) is base64 that
    the stdlib decodes without a defect: whole quantums, "=" padding only at the very end.
    ``binascii.a2b_base64`` then gives the same bytes as ``get_payload(decode=True)``."""
    if digits % 4:
        return False
    pad = encoded.find(b"=")
    return pad < 0 or encoded[pad:].translate(None, b"\r\n") in (b"=", b"==")


def _decoded_payload(part: EmailMessage, whole_runs: dict[int, bytes]) -> bytes:
    """``part.get_payload(decode=True)`` (b"" when it fails), in one call for a canonical run."""
    encoded = whole_runs.get(id(part))
    try:
        if encoded is not None and _cte(part) == "base64":
            return binascii.a2b_base64(encoded)
        return part.get_payload(decode=True) or b""
    except Exception:
        return b""


def _cte(part: EmailMessage) -> str:
    return str(part.get("content-transfer-encoding", "")).lower()  # as get_payload reads it


def parse(raw: bytes) -> ParsedMessage:
    try:
        msg, whole_runs = _message_from_bytes(raw)
    except Exception:
        return ParsedMessage(message_id=synthetic_message_id(raw), msg=None)
    ids = MSG_ID.findall(_header(msg, "Message-ID"))
    message_id = ids[0] if ids else synthetic_message_id(raw)
    try:
        from_addr, from_domain = from_address(msg)
    except Exception:
        from_addr, from_domain = "", ""
    subject = " ".join(_header(msg, "Subject").split())
    thread_ids = MSG_ID.findall(_header(msg, "In-Reply-To")) + MSG_ID.findall(
        _header(msg, "References")
    )
    try:
        has_attachments = any(True for _ in msg.iter_attachments())
    except Exception:
        has_attachments = False
    bounce = _is_bounce(msg, from_addr)
    return ParsedMessage(
        message_id=message_id, msg=msg, from_addr=from_addr, from_domain=from_domain,
        subject=subject, thread_ids=list(dict.fromkeys(thread_ids)),
        case_refs=list(dict.fromkeys(r.upper() for r in CASE_REF.findall(subject))),
        is_reply=bool(thread_ids) or bool(REPLY_PREFIX.match(subject)),
        auto_reply=not bounce and _is_auto_reply(msg, subject, has_attachments),
        bounce=bounce, bounced_ids=_bounced_ids(msg) if bounce else [],
        has_attachments=has_attachments, _whole_runs=whole_runs,
    )


# --- referrals -----------------------------------------------------------------------------

_LABEL = re.compile(r"^\s*([A-Za-z][A-Za-z '()/-]{2,60}?)\s*:\s*(.+?)\s*$")


def looks_like_referral(parsed: ParsedMessage) -> bool:
    if parsed.is_reply or parsed.case_refs or parsed.auto_reply or parsed.bounce:
        return False
    return "referral" in parsed.subject.lower() or bool(
        re.search(r"(?im)^\s*date of incident\s*:", parsed.text)
    )


def _date(value: str) -> date | None:
    value = value.strip().rstrip(".")
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %B %Y", "%d %b %Y", "%a %d %b %Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _agency(protocol: Protocol, value: str) -> str | None:
    value = value.strip()
    try:
        return protocol.agency(value.lower()).slug
    except UnknownAgency:
        pass
    for a in protocol.agencies:
        if a.name.lower() == value.lower():
            return a.slug
    return None


_OUTCOME = {"death": "death", "died": "death", "serious harm": "serious-harm",
            "serious-harm": "serious-harm", "seriously harmed": "serious-harm"}
_LEGAL = {"lac": "lac", "looked after": "lac", "looked-after": "lac", "looked after child": "lac",
          "cp plan": "cp-plan", "cp-plan": "cp-plan", "child protection plan": "cp-plan",
          "cin": "cin", "child in need": "cin", "care leaver": "care-leaver",
          "care-leaver": "care-leaver", "previously known": "previously-known",
          "previously known to csc": "previously-known", "not known": "not-known",
          "not-known": "not-known"}
_PARALLEL = ("police investigation", "coroner", "dhr", "sar", "mappa", "nhs serious incident",
             "court proceedings", "other reviews")


def _answer(value: str) -> str | None:
    v = value.strip().lower()
    if v in ("yes", "known", "suspected", "known or suspected", "y"):
        return "yes"
    if v in ("no", "n", "not suspected"):
        return "no"
    if v in ("unclear", "unknown", "not known", "don't know"):
        return "unclear"
    return None


def read_referral(text: str, protocol: Protocol, today: date) -> tuple[Referral, list[str]]:
    """The labelled fields of a referral email (process.md 7.1), and notes on what was unusable.

    Notes never quote the sender's text: they name the field only.
    """
    fields: dict[str, str] = {}
    for line in text.splitlines():
        m = _LABEL.match(line)
        if m:
            fields.setdefault(m.group(1).strip().lower(), m.group(2))
    referral = Referral()
    notes: list[str] = []

    def pick(*labels: str) -> str | None:
        for label in labels:
            if label in fields:
                return fields[label]
        return None

    if (v := pick("referring agency", "agency")) is not None:
        referral.referring_agency = _agency(protocol, v)
        if referral.referring_agency is None:
            notes.append("referring agency (not one of the protocol's agencies)")
    for attr, labels in (
        ("incident_date", ("date of incident", "incident date")),
        ("la_aware_date", ("date local authority became aware", "date the local authority became "
                           "aware", "date la became aware", "la aware date")),
    ):
        if (v := pick(*labels)) is not None:
            d = _date(v)
            if d is None or d > today:
                notes.append(f"{labels[0]} (could not be read as a past date)")
            else:
                setattr(referral, attr, d)
    if (
        referral.incident_date and referral.la_aware_date
        and referral.la_aware_date < referral.incident_date
    ):
        notes.append("date local authority became aware (earlier than the incident)")
        referral.la_aware_date = None
    if (v := pick("outcome")) is not None:
        referral.outcome = _OUTCOME.get(v.strip().lower())
    if (v := pick("abuse or neglect", "abuse or neglect known or suspected")) is not None:
        referral.abuse_neglect = _answer(v)
    if (v := pick("legal status", "child's legal status")) is not None:
        referral.legal_status = _LEGAL.get(v.strip().lower())
    if (v := pick("age band", "age")) is not None and len(v) <= 20:
        referral.age_band = v.strip()
    if (v := pick("agencies involved", "agencies")) is not None:
        slugs, unknown = [], 0
        for item in re.split(r"[,;]", v):
            if item.strip():
                slug = _agency(protocol, item)
                if slug:
                    slugs.append(slug)
                else:
                    unknown += 1
        referral.agencies_involved = slugs
        if unknown:
            notes.append(f"agencies involved ({unknown} not recognised)")
    if (v := pick("parallel processes")) is not None:
        found = [p for p in _PARALLEL if p in v.lower()]
        referral.parallel_processes = found or (["other"] if v.strip().lower() not in
                                                ("none", "no", "n/a") else [])
    if (v := pick("media interest")) is not None:
        mi = v.strip().lower()
        referral.media_interest = mi if mi in ("known", "likely", "no", "none", "yes") else None
    return referral, notes
