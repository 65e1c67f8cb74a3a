"""Reading a media enquiry out of an email sent to the protocol's press address (issue 4 item 1).

Two shapes arrive: an agency forwarding what a journalist sent it (M-1: tell the press office and
the business manager at once), and a journalist writing in directly. A forwarded enquiry keeps
its original sender as the journalist contact; the forwarder is the one acknowledged (M-2).
Labelled lines ("Outlet:", "Deadline:", "About:") are read when present; whatever cannot be read
is left empty and said in the summary that goes to the press office, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from zoneinfo import ZoneInfo

from bot.media import EnquiryInput
from bot.protocol import Protocol
from handlers.mail.classify import CASE_REF, ParsedMessage

_RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Resent-To", "Envelope-To")
_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|fw)\s*:", re.IGNORECASE)
_FORWARD_MARK = re.compile(
    r"^-{2,}\s*(forwarded message|original message)\s*-{2,}\s*$|^begin forwarded message:\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_FORWARDED_FROM = re.compile(r"^\s*>?\s*from:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_LABEL = re.compile(r"^\s*>?\s*([A-Za-z][A-Za-z' ]{1,30}?)\s*:\s*(.+?)\s*$", re.MULTILINE)
_SUBJECT_WORDS = {
    "case": "case", "review": "case", "incident": "case", "partnership": "partnership",
    "board": "partnership", "agency": "agency", "inquest": "inquest", "coroner": "inquest",
    "general": "general", "campaign": "general",
}


@dataclass
class MediaMail:
    data: EnquiryInput
    #: Who to acknowledge (the forwarding agency's sender), or None for a journalist writing in.
    forwarded_by: str | None = None
    notes: list[str] = field(default_factory=list)


def _addresses(msg: EmailMessage, names: tuple[str, ...]) -> list[str]:
    values: list[str] = []
    for name in names:
        try:
            values += [str(v) for v in (msg.get_all(name) or [])]
        except Exception:  # an unreadable header counts as absent
            continue
    return [addr.lower() for _, addr in getaddresses(values) if "@" in addr]


def is_to_press_address(parsed: ParsedMessage, protocol: Protocol) -> bool:
    press = protocol.media.press_address
    if not press or parsed.msg is None:
        return False
    return press.lower() in _addresses(parsed.msg, _RECIPIENT_HEADERS)


def _labels(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in _LABEL.findall(text):
        found.setdefault(key.strip().lower(), value.strip())
    return found


def _pick(labels: dict[str, str], *names: str) -> str | None:
    for name in names:
        if labels.get(name):
            return labels[name]
    return None


_CLOCK = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?", re.IGNORECASE)


def _clock(text: str) -> time | None:
    match = _CLOCK.search(text)
    if not match:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), (match.group(3) or "").lower()
    if half == "pm" and hour < 12:
        hour += 12
    if half == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or (not half and not match.group(2)):
        return None  # a bare number is not a time
    return time(hour, minute)


def parse_deadline(value: str, now: datetime, tz: str) -> datetime | None:
    """A journalist's deadline as people write it: ISO, 23/11/2026 16:00, "4pm today",
    "tomorrow 10:30". None when it cannot be read with confidence."""
    zone = ZoneInfo(tz)
    text = value.strip().lower()
    today = now.astimezone(zone).date()
    try:
        parsed = datetime.fromisoformat(value.strip())
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(ZoneInfo("UTC"))
    except ValueError:
        pass
    day: date | None = None
    numeric = re.search(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b", text)
    if numeric:
        try:
            day = date(int(numeric.group(3)), int(numeric.group(2)), int(numeric.group(1)))
        except ValueError:
            return None
        text = text.replace(numeric.group(0), " ")
    elif "tomorrow" in text:
        day = today + timedelta(days=1)
    elif "today" in text or "tonight" in text:
        day = today
    at = _clock(text)
    if day is None and at is not None:
        day = today  # "by 4pm" means today
    if day is None:
        return None
    return datetime.combine(day, at or time(17), tzinfo=zone).astimezone(ZoneInfo("UTC"))


def _forwarded_journalist(parsed: ParsedMessage, text: str) -> tuple[str, str] | None:
    """(name, address) of the original sender: an attached message/rfc822, or the quoted From."""
    msg = parsed.msg
    assert msg is not None
    try:
        for part in msg.walk():
            if part.get_content_type() == "message/rfc822":
                inner = part.get_payload()
                if isinstance(inner, list) and inner:
                    name, addr = parseaddr(str(inner[0].get("From", "")))
                    if "@" in addr:
                        return name, addr.lower()
    except Exception:
        pass
    mark = _FORWARD_MARK.search(text)
    quoted = _FORWARDED_FROM.search(text, mark.end() if mark else 0)
    if quoted:
        name, addr = parseaddr(quoted.group(1))
        if "@" in addr:
            return name, addr.lower()
        return quoted.group(1).strip(), ""
    return None


def is_forwarded(parsed: ParsedMessage, text: str) -> bool:
    return bool(_FORWARD_SUBJECT.match(parsed.subject) or _FORWARD_MARK.search(text))


def read_enquiry(parsed: ParsedMessage, protocol: Protocol, now: datetime) -> MediaMail:
    """The enquiry an email describes, with notes on whatever could not be read."""
    assert parsed.msg is not None
    text = parsed.text
    labels = _labels(text)
    notes: list[str] = []
    forwarded = is_forwarded(parsed, text)
    sender_name = ""
    try:
        sender = parsed.msg.get("From")
        if sender is not None and getattr(sender, "addresses", None):
            first: Address = sender.addresses[0]
            sender_name = first.display_name
    except Exception:
        sender_name = ""
    if forwarded:
        original = _forwarded_journalist(parsed, text)
        journalist, contact = original if original else ("", "")
        if not original:
            notes.append("the journalist's address could not be found in the forwarded message")
    else:
        journalist, contact = sender_name, parsed.from_addr
    journalist = _pick(labels, "journalist", "reporter", "name") or journalist
    contact = _pick(labels, "contact", "phone", "telephone", "email") or contact
    domain = contact.rsplit("@", 1)[1] if "@" in contact else ""
    outlet = _pick(labels, "outlet", "publication", "newspaper", "programme", "media outlet", "organisation")
    if not outlet:
        outlet = domain or "not stated"
        notes.append("outlet not stated")
    deadline = None
    deadline_text = _pick(labels, "deadline", "by", "needed by")
    if deadline_text:
        deadline = parse_deadline(deadline_text, now, protocol.partnership.timezone)
        if deadline is None or deadline <= now:
            notes.append(f"deadline not understood ({deadline_text[:40]}); ask the journalist")
            deadline = None
    else:
        notes.append("no deadline stated; ask the journalist")
    about = (_pick(labels, "about", "subject type", "enquiry about") or "").lower()
    subject = next((v for k, v in _SUBJECT_WORDS.items() if k in about), None)
    refs = CASE_REF.findall(parsed.subject) or CASE_REF.findall(text)
    if subject is None:
        subject = "inquest" if re.search(r"\binquest\b", f"{parsed.subject} {text}", re.I) else "case"
        notes.append("subject not stated: routed as an enquiry about a specific case; check it")
    summary = parsed.subject[:200]
    if notes:
        summary = f"{summary} [{'; '.join(notes)}]"
    data = EnquiryInput(
        outlet=outlet, subject=subject, journalist=journalist, contact=contact,
        journalist_deadline=deadline, case_ref=refs[0].upper() if refs else None, summary=summary,
    )
    return MediaMail(data=data, forwarded_by=parsed.from_addr if forwarded else None, notes=notes)
