"""Where each inbound message goes, once it is recorded (issue 2, item 7; decision 0006): a
bounce, an auto-reply, a media enquiry (mail to the press address), an agency return (by its
thread, or by the ``[REF]`` token and the sender's agency), a referral, or the triage list with a
reason a person can act on. Everything here runs in the transaction that recorded the message
(handlers/mail/intake.py) and writes nothing until it commits.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot import agency_requests, audit
from bot.cases import open_case
from bot.core import Core
from bot.errors import NotFound, ServiceError
from bot.inbound import hold_for_triage, store_attachments
from bot.mail.authresults import domain_matches, verify_sender
from bot.media import receive_enquiry
from bot.models import AgencyRequest, Case, InboundMessage, OutboxMessage
from handlers.mail.classify import (
    ParsedMessage,
    is_out_of_office,
    looks_like_referral,
)
from handlers.mail.media_mail import is_to_press_address, read_enquiry
from handlers.mail.notices import IntakeResult, auto_reply, bounce, pick_request
from handlers.mail.referral_form import read_referral


def reused_id(
    session: Session, core: Core, inbound: InboundMessage, parsed: ParsedMessage, earlier: int
) -> IntakeResult:
    """A Message-ID already recorded with other bytes: never acted on (it could be a forged
    return), never dropped either (issue 9 item 3)."""
    _keep_attachments(session, core, inbound, parsed)
    return _triage(inbound, parsed, f"reuses the Message-ID of inbound message {earlier} with "
                   "different content; compare the two")


def route(
    session: Session, core: Core, inbound: InboundMessage, parsed: ParsedMessage
) -> IntakeResult:
    if parsed.unreadable is not None:
        return _triage(inbound, parsed, f"not read automatically: {parsed.unreadable}")
    if parsed.msg is None:
        return _triage(inbound, parsed, "the message could not be parsed as email")
    if parsed.bounce:
        return bounce(session, core, inbound, parsed)
    if parsed.auto_marker is not None:
        looks_like = _work_it_looks_like(session, core, parsed)
        if looks_like is None:
            return auto_reply(session, core, inbound, parsed)
        _keep_attachments(session, core, inbound, parsed)
        return _triage(inbound, parsed, f"marked as automatic mail ({parsed.auto_marker}) but "
                       f"looks like {looks_like}; check it")
    if is_to_press_address(parsed, core.protocol):
        return _media_enquiry(session, core, inbound, parsed)
    threaded = agency_requests.request_for_message_ids(session, parsed.thread_ids)
    if threaded is not None:
        return _return(session, core, inbound, parsed, threaded)
    if parsed.case_refs:
        return _by_reference(session, core, inbound, parsed)
    case = _about_case(session, parsed)
    if case is not None:
        inbound.case_id = case.id
        _keep_attachments(session, core, inbound, parsed)
        return _triage(inbound, parsed, f"a reply about {case.ref} that is not an agency return",
                       case=case)
    if looks_like_referral(parsed):
        return _referral(session, core, inbound, parsed)
    _keep_attachments(session, core, inbound, parsed)
    return _triage(inbound, parsed, "matches no case, request or referral")


def _work_it_looks_like(session: Session, core: Core, parsed: ParsedMessage) -> str | None:
    """What an automatic message looks like, when it looks like work: a form system's referral,
    a case system's return, a media enquiry (issue 9 item 3)."""
    if parsed.referral_like:
        return "a referral"
    if is_out_of_office(parsed):
        # An out-of-office (answering a request, or a journalist's to the press address) is
        # recorded as one, never taken for a return or an enquiry.
        return None
    if is_to_press_address(parsed, core.protocol):
        return "a media enquiry"
    if parsed.case_refs or agency_requests.request_for_message_ids(session, parsed.thread_ids):
        return "an agency return"
    return None


def _triage(
    inbound: InboundMessage, parsed: ParsedMessage, reason: str, *, case: Case | None = None,
    agency: str | None = None,
) -> IntakeResult:
    hold_for_triage(inbound, reason)
    if case is not None:
        inbound.case_id = case.id
    inbound.agency = agency
    return IntakeResult(parsed.message_id, "unknown", case.ref if case else None, agency, reason)


def _keep_attachments(
    session: Session, core: Core, inbound: InboundMessage, parsed: ParsedMessage
) -> int:
    if parsed.msg is None or not parsed.has_attachments:
        return 0
    counts = store_attachments(session, core, inbound, parsed.attachments())
    if counts.rejected and inbound.case_id:
        audit.record(
            session, at=core.clock.now(), actor="system", kind="attachment_rejected",
            case_id=inbound.case_id, inbound_id=inbound.id, count=counts.rejected,
        )
    return counts.stored


def _about_case(session: Session, parsed: ParsedMessage) -> Case | None:
    """A reply to something the bot sent about a case that was not a request (an alert, an ack)."""
    if not parsed.thread_ids:
        return None
    case_id = session.exec(
        select(OutboxMessage.case_id).where(
            col(OutboxMessage.message_id).in_(parsed.thread_ids),
            col(OutboxMessage.case_id).is_not(None),
        )
    ).first()
    return session.get(Case, case_id) if case_id else None


def _sender_problem(core: Core, parsed: ParsedMessage, agency_slug: str) -> str | None:
    """Why this sender cannot speak for the agency, or None when it can."""
    agency = core.protocol.agency(agency_slug)
    if not parsed.from_domain:
        return "the sender's address could not be read"
    if not domain_matches(parsed.from_domain, agency.allowed_domains()):
        return (
            f"the sender's domain {parsed.from_domain} is not one of {agency.slug}'s "
            f"({', '.join(agency.allowed_domains())})"
        )
    assert parsed.msg is not None
    partnership = core.protocol.partnership
    verdict = verify_sender(
        parsed.msg, authserv_id=partnership.authserv_id or None, boundary=partnership.boundary(),
        own_headers=partnership.authres_headers,
    )
    if not verdict.verified:
        return f"the sender could not be verified: {verdict.reason}"
    return None


def _return(
    session: Session, core: Core, inbound: InboundMessage, parsed: ParsedMessage,
    request: AgencyRequest,
) -> IntakeResult:
    case = session.get(Case, request.case_id)
    assert case is not None
    inbound.case_id = case.id
    stored = _keep_attachments(session, core, inbound, parsed)
    problem = _sender_problem(core, parsed, request.agency)
    if problem:
        return _triage(
            inbound, parsed, f"looks like {request.agency}'s {request.kind} return for "
            f"{case.ref}, but {problem}", case=case, agency=request.agency,
        )
    if request.status == "closed":
        return _triage(
            inbound, parsed, f"{request.agency}'s {request.kind} request on {case.ref} was "
            "withdrawn; a return arrived anyway", case=case, agency=request.agency,
        )
    agency_requests.record_return(
        session, core, request, actor=parsed.from_addr, via="email", inbound_id=inbound.id,
        attachments=stored,
    )
    inbound.agency, inbound.request_id = request.agency, request.id
    return IntakeResult(parsed.message_id, "agency-return", case.ref, request.agency)


def _by_reference(
    session: Session, core: Core, inbound: InboundMessage, parsed: ParsedMessage
) -> IntakeResult:
    """No thread: match by the [REF] token in the subject plus the sender's agency."""
    if len(parsed.case_refs) > 1:
        _keep_attachments(session, core, inbound, parsed)
        return _triage(inbound, parsed, f"names several cases: {', '.join(parsed.case_refs)}")
    try:
        case = agency_requests.case_by_ref(session, parsed.case_refs[0])
    except NotFound:
        _keep_attachments(session, core, inbound, parsed)
        return _triage(inbound, parsed, f"names case {parsed.case_refs[0]}, which does not exist")
    inbound.case_id = case.id
    agencies = core.protocol.agencies_for_domain(parsed.from_domain) if parsed.from_domain else []
    if not agencies:
        _keep_attachments(session, core, inbound, parsed)
        return _triage(
            inbound, parsed, f"about {case.ref}, but the sender's domain "
            f"{parsed.from_domain or '(unreadable)'} belongs to no agency", case=case,
        )
    candidates = [
        r for r in agency_requests.requests_of(session, case, with_deadlines=True)
        if r.agency in {a.slug for a in agencies}
    ]
    request = pick_request(candidates, parsed.subject)
    if request is None:
        _keep_attachments(session, core, inbound, parsed)
        names = ", ".join(a.slug for a in agencies)
        why = "has no request" if not candidates else "has several open requests; which is it?"
        return _triage(
            inbound, parsed, f"about {case.ref} from {names}, which {why}", case=case,
            agency=agencies[0].slug if len(agencies) == 1 else None,
        )
    return _return(session, core, inbound, parsed, request)


def _referral(
    session: Session, core: Core, inbound: InboundMessage, parsed: ParsedMessage
) -> IntakeResult:
    agencies = core.protocol.agencies_for_domain(parsed.from_domain) if parsed.from_domain else []
    if not agencies:
        _keep_attachments(session, core, inbound, parsed)
        return _triage(
            inbound, parsed, "a referral from outside the partnership's agencies "
            f"({parsed.from_domain or 'unreadable sender'}); open the case by hand if it is genuine",
        )
    today = core.calendar.local_date(core.clock.now())
    referral, notes = read_referral(parsed.text, core.protocol, today, parsed.fields)
    if referral.referring_agency is None and len(agencies) == 1:
        referral.referring_agency = agencies[0].slug
    assert parsed.msg is not None
    if _sender_problem(core, parsed, agencies[0].slug):
        _keep_attachments(session, core, inbound, parsed)
        return _triage(inbound, parsed, "a referral whose sender could not be verified")
    try:
        case = open_case(
            session, core, referral, actor=parsed.from_addr, source="email",
            acknowledge_to=parsed.from_addr, notes=notes,
        )
    except ServiceError as exc:
        _keep_attachments(session, core, inbound, parsed)
        return _triage(inbound, parsed, f"a referral that could not be opened: {exc}")
    inbound.case_id, inbound.agency = case.id, referral.referring_agency
    _keep_attachments(session, core, inbound, parsed)
    return IntakeResult(parsed.message_id, "referral", case.ref, referral.referring_agency)


def _media_enquiry(
    session: Session, core: Core, inbound: InboundMessage, parsed: ParsedMessage
) -> IntakeResult:
    """Mail to the press address is a media enquiry (issue 4): everyone who must know is told at
    once. What cannot be read is said in the summary for the press office, never guessed; an
    enquiry is opened even then, because a late alert is worse than an imperfect one."""
    mail = parsed.enquiry or read_enquiry(parsed, core.protocol, core.clock.now())
    agencies = core.protocol.agencies_for_domain(parsed.from_domain) if parsed.from_domain else []
    if mail.forwarded_by and len(agencies) == 1 and not _sender_problem(core, parsed, agencies[0].slug):
        mail.data.raising_agency = agencies[0].slug
    if mail.data.subject == "agency":
        mail.data.subject_agency = mail.data.raising_agency
        if mail.data.subject_agency is None:
            mail.data.subject = "case"
    _keep_attachments(session, core, inbound, parsed)
    for attempt in range(2):
        try:
            # receive_enquiry checks everything before it writes, so a refusal leaves nothing.
            enquiry = receive_enquiry(
                session, core, mail.data, actor=parsed.from_addr or "unknown sender",
                source="email", acknowledge_to=mail.forwarded_by, inbound_id=inbound.id,
            )
            break
        except ServiceError as exc:
            if attempt or not mail.data.case_ref:
                return _triage(inbound, parsed, f"a media enquiry that could not be opened: {exc}")
            # A reference the bot does not know (a typo, another partnership's): still alert.
            mail.data.case_ref = None
            mail.data.summary += f" [case reference not found: {exc}]"
    inbound.case_id, inbound.agency = enquiry.case_id, mail.data.raising_agency
    case = session.get(Case, enquiry.case_id) if enquiry.case_id else None
    return IntakeResult(parsed.message_id, "media-enquiry", case.ref if case else None,
                        mail.data.raising_agency, None)
