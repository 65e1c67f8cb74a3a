"""Reading a media enquiry out of an email sent to the protocol's press address (issue 4 item 1).

Two shapes arrive: an agency forwarding what a journalist sent it (M-1: tell the press office and
the business manager at once), and a journalist writing in directly. A forwarded enquiry keeps
its original sender as the journalist contact; the forwarder is the one acknowledged (M-2).
Labelled lines ("Outlet:", "Deadline:", "About:") are read when present; whatever cannot be read
is left empty and said in the summary that goes to the press office, never guessed. The question
itself (the words beyond the labelled lines, quoted history trimmed) is kept for the press office
(issue 9 item 7); it goes by email, never to Slack.

Everything here reads untrusted text, so it is linear and bounded: the body is cut at
``MAX_SCAN`` characters and ``MAX_LINES`` lines and read line by line with ``str`` methods; the
few regular expressions left have no nested or overlapping quantifiers. Headers are scanned raw
(the standard library's header parser is quadratic on inputs such as ``'"' * n``); only a short
From text is ever given to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import AddressHeader
from email.message import EmailMessage, Message
from email.policy import default

from bot.inbound import strip_format_controls
from bot.media import QUESTION_LIMIT, EnquiryInput
from bot.protocol import Protocol
from handlers.mail.classify import CASE_REF, ParsedMessage, body_text
from handlers.mail.media_deadline import Unreadable, parse_deadline

#: How much of a body is read at all: a question is a few paragraphs, a hostile body is megabytes.
MAX_SCAN = 64 * 1024
#: ... and at most this many of its lines (a body of 64 K newlines is 64 K lines to look at).
MAX_LINES = 1000

_RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Resent-To", "Envelope-To")
_MAX_HEADER = 300  # the most of a From text given to the header parser (quadratic on '"' * n)
_MAX_RAW = 20_000  # the most of one recipient header scanned
_FORWARD_PREFIXES = ("fwd:", "fw:", "fwd :", "fw :")
_FORWARD_TITLES = ("forwarded message", "original message")
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ' ")
#: Labels this module reads; their lines are not part of the question.
_KNOWN_LABELS = frozenset({
    "journalist", "reporter", "name", "contact", "phone", "telephone", "email", "outlet",
    "publication", "newspaper", "programme", "media outlet", "organisation", "deadline", "by",
    "needed by", "about", "subject type", "enquiry about",
})
#: Header lines of a forwarded message's block ("From:", "Sent:", ...), skipped in the question.
_FORWARD_HEADERS = frozenset({"from", "sent", "date", "to", "cc", "subject", "reply-to"})
_SUBJECT_WORDS = {
    "case": "case", "review": "case", "incident": "case", "partnership": "partnership",
    "board": "partnership", "agency": "agency", "inquest": "inquest", "coroner": "inquest",
    "general": "general", "campaign": "general",
}
_INQUEST = re.compile(r"\binquest\b", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@dataclass
class MediaMail:
    data: EnquiryInput
    #: Who to acknowledge (the forwarding agency's sender), or None for a journalist writing in.
    forwarded_by: str | None = None
    notes: list[str] = field(default_factory=list)


# --- addresses ----------------------------------------------------------------------------------


def _raw_values(msg: Message, name: str) -> list[str]:
    """A header's raw values (not parsed: the header parser is quadratic on some inputs)."""
    wanted = name.lower()
    return ["".join(str(v).splitlines()) for k, v in msg.raw_items() if k.lower() == wanted][:20]


def _names_address(raw: str, address: str) -> bool:
    """Whether the raw address header ``raw`` holds ``address`` as a whole addr-spec.

    A linear scan with ``str.find`` rather than a parse: a display name that merely contains the
    address also counts, which at worst alerts the press office about a mail that reached the
    partnership's mailbox anyway.
    """
    text, start = raw[:_MAX_RAW].lower(), 0
    while (at := text.find(address, start)) >= 0:
        before = text[at - 1] if at else " "
        after_at = at + len(address)
        after = text[after_at] if after_at < len(text) else " "
        if (before.isspace() or before in "<,:;\"'") and (after.isspace() or after in ">,;\"'"):
            return True
        start = at + 1
    return False


def _first_address(value: str) -> tuple[str, str]:
    """(display name, address) of the first address in a From-like text; ("", "") if none."""
    if len(value) > _MAX_HEADER:
        return "", ""
    try:
        header = default.header_factory("From", value)
        address = header.addresses[0] if isinstance(header, AddressHeader) and header.addresses else None
    except Exception:
        return "", ""
    if address is None or not address.username or not address.domain:
        return "", ""
    return address.display_name, address.addr_spec.lower()


def is_to_press_address(parsed: ParsedMessage, protocol: Protocol) -> bool:
    press = protocol.media.press_address
    if not press or parsed.msg is None:
        return False
    press = press.lower()
    return any(
        _names_address(raw, press) for name in _RECIPIENT_HEADERS for raw in _raw_values(parsed.msg, name)
    )


# --- lines --------------------------------------------------------------------------------------


def _unquote(line: str) -> str:
    """One level of ``>`` quoting removed, and surrounding space."""
    line = line.strip()
    return line[1:].strip() if line.startswith(">") else line


def _label(line: str) -> tuple[str, str] | None:
    """("deadline", "4pm today") for a line such as "Deadline: 4pm today" (quoted or not)."""
    key, colon, value = _unquote(line).partition(":")
    key, value = key.strip(), value.strip()
    if not colon or not value or not 2 <= len(key) <= 31 or not key[0].isalpha():
        return None
    if not set(key) <= _LABEL_CHARS:
        return None
    return " ".join(key.lower().split()), value


def _labels(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        label = _label(line)
        if label:
            found.setdefault(*label)
    return found


def _pick(labels: dict[str, str], *names: str) -> str | None:
    for name in names:
        if labels.get(name):
            return labels[name]
    return None


def _is_forward_mark(line: str) -> bool:
    """ "---------- Forwarded message ---------", "-----Original Message-----",
    "Begin forwarded message:" (Gmail, Outlook, Apple Mail)."""
    text = line.strip().lower()
    if text == "begin forwarded message:":
        return True
    if not (text.startswith("--") and text.endswith("--")):
        return False
    return text.strip("- ") in _FORWARD_TITLES


def _is_outlook_rule(line: str) -> bool:
    """The line of underscores Outlook puts above a forwarded or quoted message's From/Sent."""
    text = line.strip()
    return len(text) >= 10 and set(text) == {"_"}


def _is_history(line: str) -> bool:
    """Where quoted history starts: "> ...", "On ... wrote:", a signature, Outlook's rule."""
    text = line.strip()
    return (
        text.startswith(">") or _is_forward_mark(text) or line.rstrip("\r") == "-- "
        or (text.startswith("On ") and text.endswith("wrote:")) or _is_outlook_rule(text)
    )


# --- the question -------------------------------------------------------------------------------


def _clean(lines: list[str]) -> str:
    """Lines joined, control characters gone, runs of blank lines kept to one, bounded."""
    out: list[str] = []
    for line in lines:
        line = _CONTROL.sub("", line.replace("\t", " ")).rstrip()
        if line or (out and out[-1]):
            out.append(line)
    text = "\n".join(out).strip()
    if len(text) > QUESTION_LIMIT:
        marker = "\n[shortened: the full message is in the mailbox]"
        text = text[: QUESTION_LIMIT - len(marker)].rstrip() + marker
    return text


def _own_words(lines: list[str]) -> list[str]:
    """The lines before any quoted history, without the labelled lines this module reads."""
    kept: list[str] = []
    for line in lines:
        if _is_history(line):
            break
        label = _label(line)
        if label is None or label[0] not in _KNOWN_LABELS:
            kept.append(line)
    return kept


def _forwarded_words(lines: list[str]) -> list[str]:
    """The forwarded message's own words: its header block skipped, its own history trimmed."""
    body = [_unquote(line) if line.lstrip().startswith(">") else line for line in lines]
    start = 0
    while start < len(body) and (not body[start].strip() or _is_header_line(body[start])):
        start += 1
    return _own_words(body[start:])


def _is_header_line(line: str) -> bool:
    label = _label(line)
    return label is not None and label[0] in _FORWARD_HEADERS


def _attached_message(msg: EmailMessage) -> Message | None:
    try:
        for part in msg.walk():
            if part.get_content_type() == "message/rfc822":
                inner = part.get_payload()
                if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                    return inner[0]
                return None
    except Exception:
        return None
    return None


# --- the deadline ---------------------------------------------------------------------------


def _read_deadline(
    labels: dict[str, str], now: datetime, tz: str, notes: list[str]
) -> datetime | None:
    written = _pick(labels, "deadline", "by", "needed by")
    if not written:
        notes.append("no deadline stated; ask the journalist")
        return None
    shown = _CONTROL.sub("", written[:40])
    try:
        deadline = parse_deadline(written, now, tz)
    except (Unreadable, ValueError, OverflowError) as exc:
        notes.append(f"deadline cannot be read ({shown}: {exc}); ask the journalist")
        return None
    if deadline is None or deadline <= now:
        notes.append(f"deadline not understood ({shown}); ask the journalist")
        return None
    return deadline


# --- the enquiry --------------------------------------------------------------------------------


def is_forwarded(parsed: ParsedMessage, lines: list[str]) -> bool:
    subject = parsed.subject.lstrip().lower()
    return subject.startswith(_FORWARD_PREFIXES) or any(_is_forward_mark(line) for line in lines)


def _sender_name(msg: EmailMessage) -> str:
    return _first_address(next(iter(_raw_values(msg, "From")), ""))[0]


@dataclass
class _Forward:
    journalist: str
    contact: str
    words: list[str]  # the journalist's own words
    note: list[str]  # what the forwarder wrote above the forwarded message


def _read_forward(msg: EmailMessage, lines: list[str]) -> _Forward:
    """The original sender and their words: an attached message/rfc822, or the quoted part."""
    mark = next(
        (i for i, line in enumerate(lines) if _is_forward_mark(line) or _is_outlook_rule(line)), None
    )
    note = _own_words(lines[:mark] if mark is not None else lines)
    inner = _attached_message(msg)
    if inner is not None:
        name, addr = _first_address(next(iter(_raw_values(inner, "From")), ""))
        text = body_text(inner) if isinstance(inner, EmailMessage) else ""
        return _Forward(name, addr, _own_words(text[:MAX_SCAN].splitlines()[:MAX_LINES]), note)
    if mark is None:
        return _Forward("", "", [], note)
    after = lines[mark + 1:]
    quoted_from = next((_label(line) for line in after[:20] if (_label(line) or ("",))[0] == "from"), None)
    name, addr = _first_address(quoted_from[1]) if quoted_from else ("", "")
    if quoted_from and not addr:
        name = quoted_from[1][:120]
    return _Forward(name, addr, _forwarded_words(after), note)


def _question(words: list[str], note: list[str] | None) -> str:
    question = _clean(words)
    forwarder = _clean(note) if note else ""
    if forwarder and forwarder != question:
        question = f"{question}\n\n[the forwarder's note] {forwarder}".strip()
    return _clean(question.splitlines())


def read_enquiry(parsed: ParsedMessage, protocol: Protocol, now: datetime) -> MediaMail:
    """The enquiry an email describes, with notes on whatever could not be read."""
    assert parsed.msg is not None
    text = parsed.text[:MAX_SCAN]
    lines = text.splitlines()[:MAX_LINES]
    labels = _labels(lines)
    notes: list[str] = []
    forwarded = is_forwarded(parsed, lines)
    if forwarded:
        forward = _read_forward(parsed.msg, lines)
        journalist, contact = forward.journalist, forward.contact
        question = _question(forward.words, forward.note)
        if not contact:
            notes.append("the journalist's address could not be found in the forwarded message")
    else:
        journalist, contact = _sender_name(parsed.msg), parsed.from_addr
        question = _question(_own_words(lines), None)
    journalist = _pick(labels, "journalist", "reporter", "name") or journalist
    contact = _pick(labels, "contact", "phone", "telephone", "email") or contact
    domain = contact.rsplit("@", 1)[1] if "@" in contact else ""
    outlet = _pick(labels, "outlet", "publication", "newspaper", "programme", "media outlet", "organisation")
    if not outlet:
        outlet = domain or "not stated"
        notes.append("outlet not stated")
    deadline = _read_deadline(labels, now, protocol.partnership.timezone, notes)
    about = (_pick(labels, "about", "subject type", "enquiry about") or "").lower()
    subject = next((v for k, v in _SUBJECT_WORDS.items() if k in about), None)
    refs = CASE_REF.findall(parsed.subject[:1000]) or CASE_REF.findall(text)
    if subject is None:
        subject = "inquest" if _INQUEST.search(f"{parsed.subject[:1000]} {text}") else "case"
        notes.append("subject not stated: routed as an enquiry about a specific case; check it")
    if not question:
        notes.append("no question in the message beyond its subject")
    summary = parsed.subject[:200]
    if notes:
        summary = f"{summary} [{'; '.join(notes)}]"
    # Bidi and zero-width characters make a name read as something it is not (issue 9 item 3).
    outlet, journalist, summary = (strip_format_controls(v) for v in (outlet, journalist, summary))
    data = EnquiryInput(
        outlet=outlet, subject=subject, journalist=journalist, contact=contact,
        journalist_deadline=deadline, case_ref=refs[0].upper() if refs else None, summary=summary,
        question=question,
    )
    return MediaMail(data=data, forwarded_by=parsed.from_addr if forwarded else None, notes=notes)
