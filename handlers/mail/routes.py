"""Where each inbound message goes, once it is recorded (issue 2 item 7, decision 0006; a thin
door since issue 11, decision 0025): this module picks the classification from what the parse
read, describes the message for the core (:class:`~bot.usecases.mail.MailIn`) and calls ONE use
case; what the message is worth (which request it returns, whether its sender may speak for an
agency, the case a referral opens, the triage reason) is decided there.

Everything runs in the transaction that recorded the message (handlers/mail/intake.py) and
writes nothing until it commits.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from bot.core import Core
from bot.mail.authresults import SenderVerdict, verify_sender
from bot.models import InboundMessage
from bot.protocol import Protocol
from bot.usecases.mail import (
    IntakeResult,
    MailEnquiry,
    MailIn,
    hold_for_triage,
    mail_actor,
    receive_auto_reply,
    receive_bounce,
    receive_reused_id,
    receive_unreadable,
)
from bot.usecases.mail_media import receive_media_enquiry
from bot.usecases.mail_referral import receive_referral
from bot.usecases.mail_return import receive_return
from handlers.mail.classify import ParsedMessage, is_out_of_office, looks_like_referral
from handlers.mail.media_mail import is_to_press_address, read_enquiry

UseCase = Callable[..., IntakeResult]

#: One use case per classification the door picks.
USE_CASES: dict[str, UseCase] = {
    "unreadable": receive_unreadable,
    "bounce": receive_bounce,
    "auto-reply": receive_auto_reply,
    "media-enquiry": receive_media_enquiry,
    "return": receive_return,
    "referral": receive_referral,
    "unknown": hold_for_triage,
}
#: The classifications whose use case asks who sent the message (decision 0011).
_ASKS_WHO = frozenset({"return", "referral", "media-enquiry"})


def route(
    session: Session, core: Core, inbound: InboundMessage, parsed: ParsedMessage
) -> IntakeResult:
    kind, to_press = classification(parsed, core.protocol)
    mail = describe(core, parsed, kind, to_press=to_press)
    return USE_CASES[kind](session, core, mail_actor(core, mail.from_addr), inbound, mail)


def reused_id(
    session: Session, core: Core, inbound: InboundMessage, parsed: ParsedMessage, earlier: int
) -> IntakeResult:
    mail = describe(core, parsed, "unknown", to_press=False)
    return receive_reused_id(session, core, mail_actor(core, mail.from_addr), inbound, mail, earlier)


def classification(parsed: ParsedMessage, protocol: Protocol) -> tuple[str, bool]:
    """What the message says it is, from its headers and form alone, and whether it was sent to
    the press address. The order is the intake's (decision 0006): unreadable, a delivery failure,
    automatic mail, mail to the press address, a reply or a message naming a case, a referral."""
    if parsed.unreadable is not None or parsed.msg is None:
        return "unreadable", False
    if parsed.bounce:
        return "bounce", False
    to_press = is_to_press_address(parsed, protocol)
    if parsed.auto_marker is not None:
        return "auto-reply", to_press
    if to_press:
        return "media-enquiry", True
    if parsed.thread_ids or parsed.case_refs:
        return "return", False
    if looks_like_referral(parsed):
        return "referral", False
    return "unknown", False


def describe(core: Core, parsed: ParsedMessage, kind: str, *, to_press: bool) -> MailIn:
    """The message as the core reads it: what the parse found, no message object."""
    readable = kind != "unreadable"
    return MailIn(
        message_id=parsed.message_id, from_addr=parsed.from_addr, from_domain=parsed.from_domain,
        subject=parsed.subject, thread_ids=parsed.thread_ids, bounced_ids=parsed.bounced_ids,
        case_refs=parsed.case_refs, auto_marker=parsed.auto_marker,
        out_of_office=is_out_of_office(parsed), referral_like=readable and parsed.referral_like,
        to_press=to_press, unreadable=parsed.unreadable,
        verdict=_verdict(core, parsed) if kind in _ASKS_WHO else None,
        fields=parsed.fields if kind == "referral" else {},
        attachments=list(parsed.attachments()) if readable else [],
        enquiry=_enquiry(core, parsed) if kind == "media-enquiry" else None,
    )


def _verdict(core: Core, parsed: ParsedMessage) -> SenderVerdict:
    """Our own boundary's Authentication-Results, read as the protocol says to read them."""
    assert parsed.msg is not None
    partnership = core.protocol.partnership
    return verify_sender(
        parsed.msg, authserv_id=partnership.authserv_id or None, boundary=partnership.boundary(),
        own_headers=partnership.authres_headers,
    )


def _enquiry(core: Core, parsed: ParsedMessage) -> MailEnquiry:
    """The enquiry read before the lock (handlers/mail/prepare.py), or read now when that failed
    (an error here holds the message for triage: handlers/mail/intake.py)."""
    read = parsed.enquiry or read_enquiry(parsed, core.protocol, core.clock.now())
    return MailEnquiry(data=read.data, forwarded_by=read.forwarded_by)
