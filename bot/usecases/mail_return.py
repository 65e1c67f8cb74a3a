"""An agency's return by email (process.md 7.3; issue 11 item 1): matched to its request by the
thread it answers, or by the ``[REF]`` token in its subject and the sender's agency, and recorded
only when the sender may speak for that agency (decision 0011). Anything else about a case goes
to triage with a reason a person can act on."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot import agency_requests
from bot.actors import Actor
from bot.core import Core
from bot.errors import NotFound
from bot.models import AgencyRequest, Case, InboundMessage, OutboxMessage
from bot.usecases.mail import (
    IntakeResult,
    MailIn,
    hold_for_triage,
    keep_attachments,
    pick_request,
    sender_problem,
    triage,
)


def receive_return(
    session: Session, core: Core, actor: Actor, inbound: InboundMessage, mail: MailIn
) -> IntakeResult:
    """A reply, or a message naming a case: the request it returns, when it can be told."""
    request = agency_requests.request_for_message_ids(session, mail.thread_ids)
    if request is not None:
        return _record_return(session, core, actor, inbound, mail, request)
    if mail.case_refs:
        return _by_reference(session, core, actor, inbound, mail)
    case = _about_case(session, mail)
    if case is not None:
        return hold_for_triage(session, core, actor, inbound, mail,
                               f"a reply about {case.ref} that is not an agency return", case=case)
    return hold_for_triage(session, core, actor, inbound, mail)


def _record_return(
    session: Session, core: Core, actor: Actor, inbound: InboundMessage, mail: MailIn,
    request: AgencyRequest,
) -> IntakeResult:
    case = session.get(Case, request.case_id)
    assert case is not None
    inbound.case_id = case.id
    stored = keep_attachments(session, core, inbound, mail)
    problem = sender_problem(core, mail, request.agency)
    if problem:
        return triage(
            inbound, mail, f"looks like {request.agency}'s {request.kind} return for "
            f"{case.ref}, but {problem}", case=case, agency=request.agency,
        )
    if request.status == "closed":
        return triage(
            inbound, mail, f"{request.agency}'s {request.kind} request on {case.ref} was "
            "withdrawn; a return arrived anyway", case=case, agency=request.agency,
        )
    agency_requests.record_return(
        session, core, request, actor=actor.key, via="email", inbound_id=inbound.id,
        attachments=stored,
    )
    inbound.agency, inbound.request_id = request.agency, request.id
    return IntakeResult(mail.message_id, "agency-return", case.ref, request.agency)


def _by_reference(
    session: Session, core: Core, actor: Actor, inbound: InboundMessage, mail: MailIn
) -> IntakeResult:
    """No thread: the [REF] token in the subject plus the sender's agency."""
    if len(mail.case_refs) > 1:
        return hold_for_triage(session, core, actor, inbound, mail,
                               f"names several cases: {', '.join(mail.case_refs)}")
    try:
        case = agency_requests.case_by_ref(session, mail.case_refs[0])
    except NotFound:
        return hold_for_triage(session, core, actor, inbound, mail,
                               f"names case {mail.case_refs[0]}, which does not exist")
    inbound.case_id = case.id
    agencies = core.protocol.agencies_for_domain(mail.from_domain) if mail.from_domain else []
    if not agencies:
        return hold_for_triage(
            session, core, actor, inbound, mail, f"about {case.ref}, but the sender's domain "
            f"{mail.from_domain or '(unreadable)'} belongs to no agency", case=case,
        )
    candidates = [
        r for r in agency_requests.requests_of(session, case, with_deadlines=True)
        if r.agency in {a.slug for a in agencies}
    ]
    request = pick_request(candidates, mail.subject)
    if request is None:
        names = ", ".join(a.slug for a in agencies)
        why = "has no request" if not candidates else "has several open requests; which is it?"
        return hold_for_triage(
            session, core, actor, inbound, mail, f"about {case.ref} from {names}, which {why}",
            case=case, agency=agencies[0].slug if len(agencies) == 1 else None,
        )
    return _record_return(session, core, actor, inbound, mail, request)


def _about_case(session: Session, mail: MailIn) -> Case | None:
    """A reply to something the bot sent about a case that was not a request (an alert, an ack)."""
    if not mail.thread_ids:
        return None
    case_id = session.exec(
        select(OutboxMessage.case_id).where(
            col(OutboxMessage.message_id).in_(mail.thread_ids),
            col(OutboxMessage.case_id).is_not(None),
        )
    ).first()
    return session.get(Case, case_id) if case_id else None
