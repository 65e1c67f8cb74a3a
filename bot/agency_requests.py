"""Requests to agencies: the 48-hour information gathering request and the 14-day chronology
request (process.md 7.3, 7.6), their returns, and what the mailbox says about them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from bot import audit, chronology, deadlines, info_gathering, review
from bot.cases import get_case
from bot.chronology_templates import request_files
from bot.core import Core
from bot.errors import NotFound, Refused, ServiceError
from bot.mailer import render
from bot.models import AgencyRequest, Case, Deadline, OutboxMessage
from bot.outbox import enqueue, new_message_id
from bot.protocol import REQUEST_KINDS
from bot.stages import CLOSED_STAGES, LABELS, Stage

#: Where each kind of request may be sent from (process.md 2.3: RR1 and L2a).
ALLOWED_STAGES = {
    "info-gathering": (
        {Stage.INFO_GATHERING, Stage.PANEL_DECISION},
        "information gathering starts once the notification is recorded (case REF sin-submitted)",
    ),
    "chronology": (
        {Stage.LCSPR},
        "chronologies are requested once the panel has decided on a local review (decide lcspr)",
    ),
}
TEMPLATE = {"info-gathering": "info_gathering_request", "chronology": "chronology_request"}


def _check_kind(kind: str) -> None:
    if kind not in REQUEST_KINDS:
        raise ServiceError(f"request kind must be one of: {', '.join(REQUEST_KINDS)}")


def send_requests(
    session: Session, core: Core, case: Case, *, kind: str, agencies: list[str], actor: str,
    named_by: str | None = None,
) -> list[AgencyRequest]:
    """Send ``kind`` to each agency, each with its own clock. Agencies already asked are skipped."""
    _check_kind(kind)
    if not agencies:
        raise ServiceError("name at least one agency")
    chosen = [core.protocol.agency(slug) for slug in dict.fromkeys(agencies)]
    allowed, needs = ALLOWED_STAGES[kind]
    if case.stage in CLOSED_STAGES or case.stage not in allowed:
        raise Refused(f"{case.ref} is at '{LABELS[Stage(case.stage)]}': {needs}")
    if named_by is not None:
        core.protocol.agency(named_by)
    now = core.clock.now()
    duration = deadlines.case_duration(case, deadlines.REQUEST_DEADLINE[kind])
    due_at = core.calendar.due_after(now, duration)
    sent: list[AgencyRequest] = []
    assert case.id is not None  # a stored case
    for agency in chosen:
        exists = session.exec(
            select(AgencyRequest).where(
                AgencyRequest.case_id == case.id, AgencyRequest.agency == agency.slug,
                AgencyRequest.kind == kind,
            )
        ).first()
        if exists is not None:
            continue
        message_id = new_message_id(core)
        request = AgencyRequest(
            case_id=case.id, agency=agency.slug, kind=kind, sent_at=now, due_at=due_at,
            message_id=message_id, named_by=named_by,
        )
        session.add(request)
        session.flush()
        deadlines.open_deadline(
            session, core.calendar, case, kind=deadlines.REQUEST_DEADLINE[kind], anchor_at=now,
            duration=duration, request=request,
        )
        rendered = render(
            TEMPLATE[kind], ref=case.ref, partnership=core.protocol.partnership.name,
            agency_name=agency.name, duration=str(duration), due_at=due_at,
        )
        enqueue(
            session, core, key=f"request:{request.id}:sent", kind=f"{kind}_request",
            to=agency.request_addresses, rendered=rendered, case_id=case.id,
            request_id=request.id, message_id=message_id, reason=f"request:{request.id}",
            attachments=request_files(core.protocol.templates, kind),
        )
        audit.record(
            session, at=now, actor=actor, kind="request_sent", case_id=case.id,
            agency=agency.slug, request_kind=kind, due_at=due_at.isoformat(),
            **({"named_by": named_by} if named_by else {}),
        )
        sent.append(request)
    if kind == "info-gathering" and sent and case.stage == Stage.PANEL_DECISION:
        # A newly named agency reopens information gathering (process.md RR1).
        case.stage = Stage.INFO_GATHERING
        audit.record(
            session, at=now, actor=actor, kind="stage_changed", case_id=case.id,
            **{"from": Stage.PANEL_DECISION.value, "to": Stage.INFO_GATHERING.value},
        )
    if kind == "chronology" and sent:
        review.chronology_requested(session, core, case)  # D-07 runs from the chronology deadline
    case.updated_at = now
    return sent


def get_request(session: Session, case: Case, agency: str, kind: str | None) -> AgencyRequest:
    query = select(AgencyRequest).where(
        AgencyRequest.case_id == case.id, AgencyRequest.agency == agency
    )
    if kind:
        _check_kind(kind)
        query = query.where(AgencyRequest.kind == kind)
    found = list(session.exec(query.order_by(col(AgencyRequest.id))))
    if not found:
        raise NotFound(f"{case.ref} has no {kind or ''} request to {agency!r}".replace("  ", " "))
    if len(found) > 1:
        open_ones = [r for r in found if r.status == "sent"]
        if len(open_ones) == 1:
            return open_ones[0]
        raise ServiceError(f"{case.ref} has several requests to {agency!r}; say which --kind")
    return found[0]


#: ``session.info`` key: the case and the deadline (None: it has none) loaded together with a
#: request by :func:`request_for_message_ids`, by request id. Holding them here also keeps them
#: in the session's identity map, which holds objects weakly, so recording the return asks the
#: database for neither again.
_LOADED_WITH = "agency_requests.loaded_with"


def _deadline_of(session: Session, request: AgencyRequest) -> Deadline | None:
    loaded: dict[int | None, tuple[Case, Deadline | None]] = session.info.get(_LOADED_WITH, {})
    if request.id in loaded:
        return loaded[request.id][1]
    return session.exec(select(Deadline).where(Deadline.request_id == request.id)).first()


def record_return(
    session: Session, core: Core, request: AgencyRequest, *, actor: str, via: str,
    inbound_id: int | None = None, attachments: int = 0, at: datetime | None = None,
) -> bool:
    """The agency's return arrived: the request is met and its chasers stop.

    Returns False when the request had already been returned (a supplement is recorded instead).
    """
    now = core.clock.now()
    at = at or now
    case = session.get(Case, request.case_id)
    assert case is not None
    chronology.return_arrived(session, core, request, inbound_id=inbound_id, at=at)  # read on the tick
    if request.status == "returned":
        audit.record(
            session, at=now, actor=actor, kind="return_supplement", case_id=case.id,
            agency=request.agency, request_kind=request.kind, inbound_id=inbound_id,
            attachments=attachments,
        )
        return False
    if request.status == "closed":
        raise Refused(f"the {request.kind} request to {request.agency} on {case.ref} was withdrawn")
    request.status = "returned"
    request.returned_at = at
    request.returned_via = via
    deadline = _deadline_of(session, request)
    if deadline is not None:
        deadlines.meet(deadline, at)
    audit.record(
        session, at=now, actor=actor, kind="return_received", case_id=case.id,
        agency=request.agency, request_kind=request.kind, via=via, inbound_id=inbound_id,
        attachments=attachments, on_time=at <= request.due_at,
    )
    info_gathering.advance_if_all_in(session, core, case, actor)
    return True


def withdraw(
    session: Session, core: Core, request: AgencyRequest, *, reason: str, actor: str
) -> None:
    """Stop chasing a request that will not be answered (chased to closure, process.md RR1)."""
    if not reason.strip():
        raise ServiceError("a reason is required to withdraw a request")
    if request.status != "sent":
        raise Refused(f"the request to {request.agency} is already {request.status}")
    now = core.clock.now()
    request.status = "closed"
    request.closed_reason = reason.strip()
    deadline = _deadline_of(session, request)
    if deadline is not None:
        deadlines.cancel(deadline, now)
    case = session.get(Case, request.case_id)
    assert case is not None
    audit.record(
        session, at=now, actor=actor, kind="request_withdrawn", case_id=case.id,
        agency=request.agency, request_kind=request.kind,
    )
    info_gathering.advance_if_all_in(session, core, case, actor)


def record_auto_reply(
    session: Session, core: Core, request: AgencyRequest, *, inbound_id: int
) -> None:
    """An out-of-office: useful to know, never a return (libraries.md section 7)."""
    now = core.clock.now()
    request.last_auto_reply_at = now
    audit.record(
        session, at=now, actor="system", kind="auto_reply", case_id=request.case_id,
        agency=request.agency, request_kind=request.kind, inbound_id=inbound_id,
    )


def record_bounce(
    session: Session, core: Core, request: AgencyRequest, *, inbound_id: int
) -> None:
    """The request never arrived: tell the business manager, keep the clock running."""
    now = core.clock.now()
    request.bounced_at = now
    case = session.get(Case, request.case_id)
    assert case is not None
    agency = core.protocol.agency(request.agency)
    audit.record(
        session, at=now, actor="system", kind="request_bounced", case_id=case.id,
        agency=request.agency, request_kind=request.kind, inbound_id=inbound_id,
    )
    rendered = render(
        "bounce_alert", ref=case.ref, partnership=core.protocol.partnership.name,
        kind_label=deadlines.KIND_LABEL[request.kind], agency_name=agency.name,
    )
    enqueue(
        session, core, key=f"inbound:{inbound_id}:bounce-alert", kind="bounce_alert",
        to=[core.protocol.roles.business_manager.email], rendered=rendered, case_id=case.id,
        request_id=request.id, reason=f"request:{request.id}",
    )


# Built once: building a statement and its cache key costs about as much as running it, and
# the intake runs these for nearly every message (docs/benchmarks.md).
_REQUESTS_BY_OUTBOX_MESSAGE = (
    select(OutboxMessage.message_id, AgencyRequest, Case, Deadline)
    .join(OutboxMessage, col(OutboxMessage.request_id) == AgencyRequest.id)
    .join(Case, col(Case.id) == AgencyRequest.case_id)
    .outerjoin(Deadline, col(Deadline.request_id) == AgencyRequest.id)
    .where(col(OutboxMessage.message_id).in_(bindparam("message_ids", expanding=True)))
)
#: ``session.info`` key: (the Message-IDs asked about, what they answer) from :func:`preload`.
_THREADS = "agency_requests.threads"
Threads = dict[str, tuple[AgencyRequest, Case, Deadline | None]]


def _threads(session: Session, message_ids: list[str]) -> Threads:
    found: Threads = {}
    for outbox_message_id, request, case, deadline in session.exec(
        _REQUESTS_BY_OUTBOX_MESSAGE, params={"message_ids": message_ids}
    ):
        found.setdefault(outbox_message_id, (request, case, deadline))
    return found


def preload(session: Session, messages: list[tuple[list[str], list[str]]]) -> None:
    """What a batch of inbound mail will look up, in two queries rather than one or two a message:
    the requests its messages thread back to (``(thread ids, case refs)`` each), then the cases
    that those without such a thread name by reference, with their requests and deadlines.
    :func:`request_for_message_ids`, :func:`case_by_ref` and :func:`requests_of` answer from them.
    The outbox rows of requests are written when the requests are sent, long before any reply."""
    asked = list(dict.fromkeys(i for thread_ids, _refs in messages for i in thread_ids))
    found = _threads(session, asked) if asked else {}
    session.info[_THREADS] = (set(asked), found)
    unthreaded = [refs for thread_ids, refs in messages if not any(i in found for i in thread_ids)]
    _preload_cases(session, [ref for refs in unthreaded for ref in refs])


def request_for_message_ids(session: Session, message_ids: list[str]) -> AgencyRequest | None:
    """The request a reply threads back to, through any message the bot sent about it (the first
    of ``message_ids``, in their order, that is one).

    One query loads the request with its case and its deadline, which a return then needs.
    """
    if not message_ids:
        return None
    asked, found = session.info.get(_THREADS, (set(), {}))
    if not asked.issuperset(message_ids):
        found = _threads(session, message_ids)
    for message_id in message_ids:
        if message_id in found:
            request, case, deadline = found[message_id]
            session.info.setdefault(_LOADED_WITH, {}).setdefault(request.id, (case, deadline))
            return request
    return None


_REQUESTS_OF = (
    select(AgencyRequest).where(AgencyRequest.case_id == bindparam("case_id"))
    .order_by(col(AgencyRequest.id))
)
_REQUESTS_WITH_DEADLINES_OF = (
    select(AgencyRequest, Deadline)
    .outerjoin(Deadline, col(Deadline.request_id) == AgencyRequest.id)
    .where(AgencyRequest.case_id == bindparam("case_id"))
    .order_by(col(AgencyRequest.id), col(Deadline.id))
)


_CASES_BY_REF = (
    select(Case, AgencyRequest, Deadline)
    .outerjoin(AgencyRequest, col(AgencyRequest.case_id) == Case.id)
    .outerjoin(Deadline, col(Deadline.request_id) == AgencyRequest.id)
    .where(col(Case.ref).in_(bindparam("refs", expanding=True)))
    .order_by(col(Case.id), col(AgencyRequest.id), col(Deadline.id))
)
#: ``session.info`` key: ({ref: case}, {case id: its requests}) from :func:`preload`.
_CASES = "agency_requests.cases"


def _preload_cases(session: Session, refs: list[str]) -> None:
    cases: dict[str, Case] = {}
    requests: dict[int | None, dict[int | None, AgencyRequest]] = {}
    loaded = session.info.setdefault(_LOADED_WITH, {})
    refs = list(dict.fromkeys(ref.strip().upper() for ref in refs))
    for case, request, deadline in session.exec(_CASES_BY_REF, params={"refs": refs}) if refs else ():
        cases.setdefault(case.ref, case)
        held = requests.setdefault(case.id, {})
        if request is not None and request.id not in held:
            held[request.id] = request
            loaded.setdefault(request.id, (case, deadline))
    session.info[_CASES] = (cases, {case_id: list(held.values()) for case_id, held in requests.items()})


def case_by_ref(session: Session, ref: str) -> Case:
    """:func:`bot.cases.get_case`, answered from :func:`preload` when it read the case."""
    cases, _requests = session.info.get(_CASES, ({}, {}))
    case = cases.get(ref.strip().upper())
    return case if case is not None else get_case(session, ref)


def requests_of(
    session: Session, case: Case, *, with_deadlines: bool = False
) -> list[AgencyRequest]:
    """The case's requests, oldest first. ``with_deadlines`` loads each one's deadline in the
    same query, for a caller about to record a return (as :func:`request_for_message_ids`)."""
    _cases, preloaded = session.info.get(_CASES, ({}, {}))
    if case.id in preloaded:
        return list(preloaded[case.id])
    params = {"case_id": case.id}
    if not with_deadlines:
        return list(session.exec(_REQUESTS_OF, params=params))
    loaded = session.info.setdefault(_LOADED_WITH, {})
    requests: dict[int | None, AgencyRequest] = {}
    for request, deadline in session.exec(_REQUESTS_WITH_DEADLINES_OF, params=params):
        requests.setdefault(request.id, request)
        loaded.setdefault(request.id, (case, deadline))
    return list(requests.values())
