"""A media enquiry by email (process.md 6, M-1/M-2; issue 11 item 1): mail to the press address
opens an enquiry and everyone who must know is told at once. What the door could not read is said
in the summary for the press office, never guessed; an enquiry is opened even then, because a late
alert is worse than an imperfect one."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session

from bot.actors import Actor
from bot.core import Core
from bot.errors import ServiceError
from bot.media import EnquiryInput, receive_enquiry
from bot.models import Case, InboundMessage, MediaEnquiry
from bot.usecases.mail import IntakeResult, MailIn, keep_attachments, sender_problem, triage


def receive_media_enquiry(
    session: Session, core: Core, actor: Actor, inbound: InboundMessage, mail: MailIn
) -> IntakeResult:
    assert mail.enquiry is not None, "the door reads the enquiry of mail to the press address"
    # A copy: the door's reading is kept as it was read (a batch rolled back acts on it again).
    data = replace(mail.enquiry.data)
    forwarded_by = mail.enquiry.forwarded_by
    data.raising_agency = _raising_agency(core, mail, data)
    if data.subject == "agency":
        # An enquiry about "the agency" is about the one that forwarded it; with none known, it
        # is routed as one about a case (the press office is told to check it).
        data.subject_agency = data.raising_agency
        if data.subject_agency is None:
            data.subject = "case"
    keep_attachments(session, core, inbound, mail)
    enquiry = _open(session, core, actor, inbound, data, forwarded_by)
    if isinstance(enquiry, str):
        return triage(inbound, mail, f"a media enquiry that could not be opened: {enquiry}")
    inbound.case_id, inbound.agency = enquiry.case_id, data.raising_agency
    case = session.get(Case, enquiry.case_id) if enquiry.case_id else None
    return IntakeResult(mail.message_id, "media-enquiry", case.ref if case else None,
                        data.raising_agency, None)


def _raising_agency(core: Core, mail: MailIn, data: EnquiryInput) -> str | None:
    """M-2: an agency that forwards what a journalist sent it raised the enquiry, when its
    sender may speak for it (decision 0011); a journalist writing in raises none."""
    if mail.enquiry is None or not mail.enquiry.forwarded_by:
        return data.raising_agency
    agencies = core.protocol.agencies_for_domain(mail.from_domain) if mail.from_domain else []
    if len(agencies) == 1 and not sender_problem(core, mail, agencies[0].slug):
        return agencies[0].slug
    return data.raising_agency


def _open(
    session: Session, core: Core, actor: Actor, inbound: InboundMessage, data: EnquiryInput,
    forwarded_by: str | None,
) -> MediaEnquiry | str:
    """The enquiry opened, or why it could not be. A case reference the bot does not know (a
    typo, another partnership's) is dropped and said in the summary: the alert still goes."""
    for attempt in range(2):
        try:
            # receive_enquiry checks everything before it writes, so a refusal leaves nothing.
            return receive_enquiry(
                session, core, data, actor=actor.key, source="email", acknowledge_to=forwarded_by,
                inbound_id=inbound.id,
            )
        except ServiceError as exc:
            if attempt or not data.case_ref:
                return str(exc)
            data.case_ref = None
            data.summary += f" [case reference not found: {exc}]"
    raise AssertionError("unreachable: the second attempt returns")
