"""What the intake does with the mail that is about mail: automatic replies and delivery
failures (matched to the request they answer), the result it reports, and how a message names
one of a case's requests."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlmodel import Session

from bot import agency_requests
from bot.cases import get_case
from bot.core import Core
from bot.errors import NotFound
from bot.inbound import hold_for_triage
from bot.models import AgencyRequest, Case, InboundMessage
from handlers.mail.classify import ParsedMessage


@dataclass
class IntakeResult:
    message_id: str
    classification: str
    case: str | None = None
    agency: str | None = None
    triage: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return asdict(self)


def pick_request(candidates: list[AgencyRequest], subject: str) -> AgencyRequest | None:
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
    session: Session, core: Core, parsed: ParsedMessage, ids: list[str]
) -> AgencyRequest | None:
    request = agency_requests.request_for_message_ids(session, ids)
    if request is not None or len(parsed.case_refs) != 1 or not parsed.from_domain:
        return request
    try:
        case = get_case(session, parsed.case_refs[0])
    except NotFound:
        return None
    slugs = {a.slug for a in core.protocol.agencies_for_domain(parsed.from_domain)}
    return pick_request(
        [r for r in agency_requests.requests_of(session, case) if r.agency in slugs],
        parsed.subject,
    )


def auto_reply(
    session: Session, core: Core, inbound: InboundMessage, parsed: ParsedMessage
) -> IntakeResult:
    request = request_for_notice(session, core, parsed, parsed.thread_ids)
    if request is None:
        # An auto-reply to nothing of ours is noise: recorded, not put in front of a person.
        return IntakeResult(parsed.message_id, "auto-reply")
    assert inbound.id is not None  # recorded before anything acts on it
    agency_requests.record_auto_reply(session, core, request, inbound_id=inbound.id)
    case = session.get(Case, request.case_id)
    assert case is not None
    inbound.case_id, inbound.agency, inbound.request_id = case.id, request.agency, request.id
    return IntakeResult(parsed.message_id, "auto-reply", case.ref, request.agency)


def bounce(
    session: Session, core: Core, inbound: InboundMessage, parsed: ParsedMessage
) -> IntakeResult:
    request = request_for_notice(
        session, core, parsed, [*parsed.bounced_ids, *parsed.thread_ids]
    )
    if request is None:
        hold_for_triage(inbound, "a delivery failure for a message the bot cannot identify")
        return IntakeResult(parsed.message_id, "bounce", triage=inbound.triage_reason)
    assert inbound.id is not None  # recorded before anything acts on it
    agency_requests.record_bounce(session, core, request, inbound_id=inbound.id)
    case = session.get(Case, request.case_id)
    assert case is not None
    inbound.case_id, inbound.agency, inbound.request_id = case.id, request.agency, request.id
    return IntakeResult(parsed.message_id, "bounce", case.ref, request.agency)
