"""The mail intake's use cases (issue 11 item 1; decision 0025): one per classification the mail
door picks, each acting on a message already recorded (decision 0006) in the caller's
transaction (one message's, or a batch's: bot/inbound_batch.py). Nothing here reads email: the
door describes the message in a :class:`MailIn` and the core decides what it is worth.

* :func:`receive_bounce`, :func:`receive_auto_reply` (here): mail about mail, matched to the
  request it answers;
* :func:`~bot.usecases.mail_return.receive_return`: an agency's return, by its thread or by the
  ``[REF]`` token and the sender's agency, sender verified (decision 0011);
* :func:`~bot.usecases.mail_referral.receive_referral`: a referral by email (process.md 7.1);
* :func:`~bot.usecases.mail_media.receive_media_enquiry`: mail to the press address (process.md 6);
* :func:`receive_unreadable`, :func:`receive_reused_id`, :func:`hold_for_triage` (here): what a
  person must look at, with a reason they can act on.

Each returns an :class:`IntakeResult`: ids, the classification, the case reference and agency,
the triage reason. No subject, body or address is in it (the door logs it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sqlmodel import Session

from bot import agency_requests, audit
from bot.actors import Actor, resolve_actor
from bot.core import Core
from bot.errors import NotFound
from bot.inbound import InboundAttachment, store_attachments
from bot.inbound import hold_for_triage as hold
from bot.mail.authresults import SenderVerdict, domain_matches
from bot.media import EnquiryInput
from bot.models import AgencyRequest, Case, InboundMessage

#: The audit key of a sender whose address could not be read (a media enquiry still opens).
UNKNOWN_SENDER = "unknown sender"


@dataclass
class MailEnquiry:
    """A media enquiry as the door read it from the body (labelled lines, a forwarded block)."""

    data: EnquiryInput
    #: Who to acknowledge (the forwarding agency's sender), or None for a journalist writing in.
    forwarded_by: str | None = None


@dataclass
class MailIn:
    """One inbound message as the core needs it, whatever the mailbox: what the door parsed,
    never the message object. Addresses are lowercased addr-specs ("" when unreadable)."""

    message_id: str
    from_addr: str = ""
    from_domain: str = ""
    subject: str = ""
    #: Message-IDs it answers (In-Reply-To, References)
    thread_ids: list[str] = field(default_factory=list)
    #: a delivery failure's quoted original Message-IDs
    bounced_ids: list[str] = field(default_factory=list)
    #: [SI-2026-0001] tokens in the subject, uppercased
    case_refs: list[str] = field(default_factory=list)
    #: what marked it as automatic ("auto-submitted: auto-replied"...), or None
    auto_marker: str | None = None
    #: an out-of-office and nothing more (marked as a reply, nothing attached)
    out_of_office: bool = False
    #: it reads as a new referral form (subject or "Date of incident" line), whatever its marks
    referral_like: bool = False
    #: it was sent to the protocol's press address
    to_press: bool = False
    #: why it was not read (over a limit, the time budget, not email at all), or None
    unreadable: str | None = None
    #: the Authentication-Results of our own boundary, read by the door (decision 0011); None when
    #: the door did not read them (a classification that does not ask who sent it)
    verdict: SenderVerdict | None = None
    #: the body's "Label: value" lines, labels lowercased (a referral's form)
    fields: dict[str, str] = field(default_factory=dict)
    attachments: list[InboundAttachment] = field(default_factory=list)
    #: the media enquiry read from the body (mail to the press address only)
    enquiry: MailEnquiry | None = None


@dataclass
class IntakeResult:
    message_id: str
    classification: str
    case: str | None = None
    agency: str | None = None
    triage: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return asdict(self)


def mail_actor(core: Core, address: str) -> Actor:
    """The sender as an actor: the protocol's roles for a known address; an unreadable address is
    an actor with no role (never anyone the protocol names)."""
    if not address:
        return Actor(key=UNKNOWN_SENDER, surface="email", roles=frozenset())
    return resolve_actor(core, surface="email", email=address)


# --- triage --------------------------------------------------------------------------------


def hold_for_triage(
    session: Session, core: Core, actor: Actor, inbound: InboundMessage, mail: MailIn,
    reason: str = "matches no case, request or referral", *, case: Case | None = None,
    agency: str | None = None,
) -> IntakeResult:
    """Nothing the bot can match with confidence: a person decides (process.md 8.3). The
    attachments are kept (on the case, when it is known) for the person who does."""
    if case is not None:
        inbound.case_id = case.id
    keep_attachments(session, core, inbound, mail)
    return triage(inbound, mail, reason, case=case, agency=agency)


def receive_unreadable(
    session: Session, core: Core, actor: Actor, inbound: InboundMessage, mail: MailIn
) -> IntakeResult:
    """Over a limit or the time budget (decision 0010), or not email: kept, never acted on."""
    if mail.unreadable is not None:
        return triage(inbound, mail, f"not read automatically: {mail.unreadable}")
    return triage(inbound, mail, "the message could not be parsed as email")


def receive_reused_id(
    session: Session, core: Core, actor: Actor, inbound: InboundMessage, mail: MailIn, earlier: int
) -> IntakeResult:
    """A Message-ID already recorded with other bytes: never acted on (it could be a forged
    return), never dropped either (issue 9 item 3)."""
    return hold_for_triage(session, core, actor, inbound, mail, f"reuses the Message-ID of inbound "
                           f"message {earlier} with different content; compare the two")


def receive_duplicate(session: Session, inbound: InboundMessage, message_id: str) -> IntakeResult:
    """A Message-ID already recorded with the same bytes (a mailbox read again after a crash, a
    second copy): answered with what the first was, never acted on twice (decision 0006)."""
    case = session.get(Case, inbound.case_id) if inbound.case_id else None
    return IntakeResult(message_id, "duplicate", case.ref if case else None, inbound.agency)


def hold_unprocessed(inbound: InboundMessage, error: str) -> str:
    """A message the intake failed on (a bug, a value the database refused): kept for a person,
    never lost (issue 9 item 3). ``error`` is the exception's type name, never its text (a
    database error's text carries the statement's parameters: the mail). Returns the reason."""
    reason = f"could not be processed automatically ({error}); please look at it"
    inbound.classification = "unknown"
    hold(inbound, reason)
    return reason


def triage(
    inbound: InboundMessage, mail: MailIn, reason: str, *, case: Case | None = None,
    agency: str | None = None,
) -> IntakeResult:
    hold(inbound, reason)
    if case is not None:
        inbound.case_id = case.id
    inbound.agency = agency
    return IntakeResult(mail.message_id, "unknown", case.ref if case else None, agency, reason)


def keep_attachments(session: Session, core: Core, inbound: InboundMessage, mail: MailIn) -> int:
    """Store the message's attachments; returns how many documents were kept (a return counts
    them). One too large is recorded as refused and audited on its case."""
    if not mail.attachments:
        return 0
    counts = store_attachments(session, core, inbound, mail.attachments)
    if counts.rejected and inbound.case_id:
        audit.record(
            session, at=core.clock.now(), actor="system", kind="attachment_rejected",
            case_id=inbound.case_id, inbound_id=inbound.id, count=counts.rejected,
        )
    return counts.stored


# --- who may speak for an agency (decision 0011, issue 9) ---------------------------------------


def sender_problem(core: Core, mail: MailIn, agency_slug: str) -> str | None:
    """Why this sender cannot speak for the agency, or None when it can: the From domain must be
    one of the agency's, and our own boundary must have authenticated it (DMARC or compauth)."""
    agency = core.protocol.agency(agency_slug)
    if not mail.from_domain:
        return "the sender's address could not be read"
    if not domain_matches(mail.from_domain, agency.allowed_domains()):
        return (
            f"the sender's domain {mail.from_domain} is not one of {agency.slug}'s "
            f"({', '.join(agency.allowed_domains())})"
        )
    if mail.verdict is None:
        return "the sender could not be verified: no authentication results were read"
    if not mail.verdict.verified:
        return f"the sender could not be verified: {mail.verdict.reason}"
    return None


# --- mail about mail: automatic replies and delivery failures ----------------------------------


def pick_request(candidates: list[AgencyRequest], subject: str) -> AgencyRequest | None:
    """Which of an agency's requests on a case a message names: the one its subject's kind names,
    else the one still open; an agency with one request already returned gets it again (a
    supplement)."""
    if not candidates:
        return None
    subject = subject.lower()
    by_kind = [
        r for r in candidates
        if ("chronolog" in subject and r.kind == "chronology")
        or (("information gathering" in subject or "igt" in subject) and r.kind == "info-gathering")
    ]
    for pool in (by_kind, candidates):
        open_ones = [r for r in pool if r.status == "sent"]
        if len(open_ones) == 1:
            return open_ones[0]
        if len(open_ones) > 1:
            return None
        if len(pool) == 1:
            return pool[0]  # already returned: recorded as a supplement
    return None


def request_for_notice(
    session: Session, core: Core, mail: MailIn, ids: list[str]
) -> AgencyRequest | None:
    """The request an automatic message is about: by the Message-IDs it names, else by one
    ``[REF]`` and the sender's agency."""
    request = agency_requests.request_for_message_ids(session, ids)
    if request is not None or len(mail.case_refs) != 1 or not mail.from_domain:
        return request
    try:
        case = agency_requests.case_by_ref(session, mail.case_refs[0])
    except NotFound:
        return None
    slugs = {a.slug for a in core.protocol.agencies_for_domain(mail.from_domain)}
    return pick_request(
        [r for r in agency_requests.requests_of(session, case) if r.agency in slugs], mail.subject,
    )


def _on_request(inbound: InboundMessage, mail: MailIn, request: AgencyRequest, kind: str,
                session: Session) -> IntakeResult:
    case = session.get(Case, request.case_id)
    assert case is not None
    inbound.case_id, inbound.agency, inbound.request_id = case.id, request.agency, request.id
    return IntakeResult(mail.message_id, kind, case.ref, request.agency)


def receive_bounce(
    session: Session, core: Core, actor: Actor, inbound: InboundMessage, mail: MailIn
) -> IntakeResult:
    """A request that never arrived: the business manager is told, the clock keeps running."""
    request = request_for_notice(session, core, mail, [*mail.bounced_ids, *mail.thread_ids])
    if request is None:
        hold(inbound, "a delivery failure for a message the bot cannot identify")
        return IntakeResult(mail.message_id, "bounce", triage=inbound.triage_reason)
    assert inbound.id is not None  # recorded before anything acts on it
    agency_requests.record_bounce(session, core, request, inbound_id=inbound.id)
    return _on_request(inbound, mail, request, "bounce", session)


def receive_auto_reply(
    session: Session, core: Core, actor: Actor, inbound: InboundMessage, mail: MailIn
) -> IntakeResult:
    """Mail marked as automatic: an out-of-office is noted on the request it answers (never taken
    for a return); one that looks like work (a form system's referral, a case system's return)
    goes to a person rather than being dropped as noise (issue 9 item 3)."""
    looks_like = _work_it_looks_like(session, mail)
    if looks_like is not None:
        return hold_for_triage(session, core, actor, inbound, mail, f"marked as automatic mail "
                               f"({mail.auto_marker}) but looks like {looks_like}; check it")
    request = request_for_notice(session, core, mail, mail.thread_ids)
    if request is None:
        # An auto-reply to nothing of ours is noise: recorded, not put in front of a person.
        return IntakeResult(mail.message_id, "auto-reply")
    assert inbound.id is not None
    agency_requests.record_auto_reply(session, core, request, inbound_id=inbound.id)
    return _on_request(inbound, mail, request, "auto-reply", session)


def _work_it_looks_like(session: Session, mail: MailIn) -> str | None:
    if mail.referral_like:
        return "a referral"
    if mail.out_of_office:
        # An out-of-office (answering a request, or a journalist's to the press address) is
        # recorded as one, never taken for a return or an enquiry.
        return None
    if mail.to_press:
        return "a media enquiry"
    if mail.case_refs or agency_requests.request_for_message_ids(session, mail.thread_ids):
        return "an agency return"
    return None
