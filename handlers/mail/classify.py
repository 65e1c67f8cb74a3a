"""Reading an inbound message: parse it defensively and say what kind of message it is.

Pure functions over bytes: no database, no mailbox. Any message, however broken, yields a
:class:`ParsedMessage`; the worst case is an empty one that goes to the triage list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import EmailPolicy
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

from bot.cases import Referral
from bot.inbound import synthetic_message_id
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

    @property
    def text(self) -> str:
        """The plain-text body (HTML turned into text); decoded only when a route needs it."""
        if self._text is None:
            self._text = body_text(self.msg) if self.msg is not None else ""
        return self._text


def _header(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception:  # a header the parser cannot make sense of counts as absent
        return ""


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


def parse(raw: bytes) -> ParsedMessage:
    try:
        msg = message_from_bytes(raw, policy=READ_POLICY)
    except Exception:
        return ParsedMessage(message_id=synthetic_message_id(raw), msg=None)
    assert isinstance(msg, EmailMessage)
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
        has_attachments=has_attachments,
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
