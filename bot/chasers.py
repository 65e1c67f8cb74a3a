"""The sweep over deadlines: warnings, reminders, overdue chases and escalations.

Each due deadline is handled in its own short transaction: its step's email goes into the
outbox under the key ``deadline:<id>:step:<n>`` and the deadline moves to its next step in the
same commit. The step first claims its request and its deadline (bot.leases.claim: row locks,
another instance skips them) and re-reads both under the claim, so a return recorded meanwhile
is seen, and two instances never take the same step (decision 0013). A crash, a restart or a
second instance running the same sweep therefore can neither lose a chaser nor send one twice.

A media enquiry's clocks are rows of the same table, stepped the same way with the enquiry claimed
in place of a request (bot.media_chasers; decision 0026): one clock engine, not two.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from bot import audit, deadlines, media_chasers, outbox, owner_clocks, reasons
from bot.core import Core
from bot.leases import claim, write_lock
from bot.mailer import render
from bot.models import AgencyRequest, Case, Deadline, MediaEnquiry
from bot.outbox import enqueue
from bot.privacy import log_message
from bot.stages import LABELS, Stage

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    #: Steps of a case's clocks (statutory, requests, owners).
    steps: int = 0
    #: Steps of media enquiries' clocks (alert repeats, deadline reminders).
    media_steps: int = 0


def _due(now: datetime, exclude: list[int], what: Any = Deadline) -> Any:
    query = select(what).where(
        col(Deadline.next_action_at).is_not(None), col(Deadline.next_action_at) <= now
    )
    if exclude:
        query = query.where(col(Deadline.id).not_in(exclude))
    return query.order_by(col(Deadline.next_action_at))


def due_deadline_ids(session: Session, core: Core, limit: int, exclude: list[int] | None = None) -> list[int]:
    return list(session.exec(_due(core.clock.now(), exclude or [], Deadline.id).limit(limit)))


#: Due deadlines claimed and stepped per transaction: one round trip per step and a few per batch,
#: so two instances take 1,000 due steps in about a second on PostgreSQL (bench/two_instances).
BATCH = 100


def chase_overdue(core: Core, *, limit: int = 5000, batch: int = BATCH) -> SweepReport:
    """Take every step that has fallen due, each deadline at most once per tick.

    Batches of due deadlines are claimed with their requests (FOR UPDATE SKIP LOCKED: another
    instance takes the next ones instead of waiting) and stepped in one transaction."""
    report = SweepReport()
    seen: list[int] = []
    while len(seen) < limit:
        try:
            with core.transaction() as session:
                claimed, taken, media_taken = take_due_steps(
                    session, core, min(batch, limit - len(seen)), seen)
        except StepFailed as failed:
            # The batch rolled back whole; the deadline that broke it waits, the rest go on.
            back_off(core, failed)
            seen.append(failed.deadline_id)
            continue
        if not claimed:
            break
        seen += claimed
        report.steps += taken
        report.media_steps += media_taken
    return report


#: A step that fails (an agency removed from the protocol, a template error) is tried again
#: after this, so one broken deadline never holds up the others or the outbox.
STEP_RETRY = timedelta(hours=1)


class StepFailed(Exception):
    def __init__(self, deadline_id: int, error: Exception) -> None:
        super().__init__(f"deadline {deadline_id}: {type(error).__name__}")
        self.deadline_id, self.error = deadline_id, error


def back_off(core: Core, failed: StepFailed) -> None:
    now = core.clock.now()
    log.error("deadline step failed id=%s: %s; tried again in %s", failed.deadline_id,
              log_message(failed.error), STEP_RETRY)
    with core.transaction() as session:
        deadline = session.get(Deadline, failed.deadline_id)
        if deadline is None or deadline.next_action_at is None:
            return
        deadline.next_action_at = now + STEP_RETRY
        audit.record(session, at=now, actor=audit.SYSTEM, kind="deadline_step_failed",
                     case_id=deadline.case_id, deadline=deadline.kind, error=type(failed.error).__name__)


def take_due_steps(
    session: Session, core: Core, batch: int, exclude: list[int]
) -> tuple[list[int], int, int]:
    """Claim up to ``batch`` due deadlines not in ``exclude`` and take their steps.

    Returns the ids claimed and the number of case and media steps taken. A deadline whose request
    or media enquiry another transaction holds (a return or an acknowledgement being recorded,
    another instance) is left for the next tick."""
    now = core.clock.now()
    if not due_deadline_ids(session, core, 1, exclude):
        return [], 0, 0  # an idle tick stays a read: no write lock, no row locks
    write_lock(session)
    # Meeting or cancelling a deadline clears next_action_at (bot.deadlines), so the due
    # condition alone keeps to the next_action_at index, as due_deadline_ids does.
    found = list(session.exec(
        _due(now, exclude).limit(batch)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)
    ))
    if not found:
        return [], 0, 0
    request_ids = [d.request_id for d in found if d.request_id is not None]
    requests = {r.id: r for r in session.exec(
        select(AgencyRequest).where(col(AgencyRequest.id).in_(request_ids))
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)
    )} if request_ids else {}
    enquiries = _claim_enquiries(session, found)
    cases = {c.id: c for c in session.exec(
        select(Case).where(col(Case.id).in_({d.case_id for d in found if d.case_id is not None}))
    )}
    taken = media_taken = 0
    # One flush at commit and one INSERT for the batch's messages: the round trips are per batch.
    with session.no_autoflush, outbox.batched(session):
        for deadline in found:
            try:
                if deadline.media_enquiry_id is not None:
                    if deadline.media_enquiry_id in enquiries:
                        media_taken += media_chasers.step(
                            session, core, deadline, enquiries[deadline.media_enquiry_id], now)
                    continue
                if deadline.request_id is not None and deadline.request_id not in requests:
                    continue
                request = requests.get(deadline.request_id)
                taken += _step(session, core, cases[deadline.case_id], deadline, request, now)
            except Exception as exc:
                assert deadline.id is not None
                raise StepFailed(deadline.id, exc) from exc
    return [d.id for d in found if d.id is not None], taken, media_taken


def _claim_enquiries(session: Session, found: list[Deadline]) -> dict[int | None, MediaEnquiry]:
    """The media enquiries of the batch's media clocks, claimed and re-read (an acknowledgement
    recorded meanwhile is seen; one being recorded now leaves its clock to the next tick)."""
    ids = [d.media_enquiry_id for d in found if d.media_enquiry_id is not None]
    if not ids:
        return {}
    return {e.id: e for e in session.exec(
        select(MediaEnquiry).where(col(MediaEnquiry.id).in_(ids))
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)
    )}


def take_step(session: Session, core: Core, deadline_id: int) -> bool:
    """Take one deadline's due step, if it is still due once claimed. False if there was none."""
    now = core.clock.now()
    # Claim the request, then the deadline, skipping (never waiting for) a row another
    # transaction holds: a return being recorded or another instance's step. Skipped rows are
    # looked at again on the next tick.
    request_id, enquiry_id = session.exec(
        select(Deadline.request_id, Deadline.media_enquiry_id).where(Deadline.id == deadline_id)
    ).one()
    request = claim(session, AgencyRequest, request_id) if request_id is not None else None
    enquiry = claim(session, MediaEnquiry, enquiry_id) if enquiry_id is not None else None
    if (request_id is not None and request is None) or (enquiry_id is not None and enquiry is None):
        return False
    deadline = claim(
        session, Deadline, deadline_id, col(Deadline.next_action_at) <= now,
        col(Deadline.met_at).is_(None), col(Deadline.cancelled_at).is_(None),
    )
    if deadline is None:
        return False  # another instance took the step, or the deadline was met meanwhile
    if enquiry is not None:
        return media_chasers.step(session, core, deadline, enquiry, now)
    case = session.get(Case, deadline.case_id)
    assert case is not None
    return _step(session, core, case, deadline, request, now)


def _step(
    session: Session, core: Core, case: Case, deadline: Deadline, request: AgencyRequest | None,
    now: datetime,
) -> bool:
    """The step itself, on rows claimed by this transaction and read under the claim."""
    if request is not None and request.status != "sent":
        deadline.next_action_at = None  # returned or withdrawn: nothing more to chase
        return False
    plan = deadlines.plan_for(case, deadline, request)
    # After downtime a warning or reminder may have fallen due only after the deadline itself
    # passed: it no longer helps anyone, so skip straight to the overdue step.
    while plan.steps[deadline.step] in ("warning", "reminder") and now >= deadline.due_at:
        deadline.step += 1
        if deadline.step >= len(plan.steps):
            deadline.next_action_at = None
            return False
    step = plan.steps[deadline.step]
    key = f"deadline:{deadline.id}:step:{deadline.step}"
    if deadline.owner is not None:  # somebody owes it: they are reminded and chased (decision 0022)
        owner_clocks.step(session, core, case, deadline, step, key)
    elif request is None:
        _statutory_step(session, core, case, deadline, step, key)
    else:
        _request_step(session, core, case, deadline, request, step, key, plan.steps)
    deadline.step += 1
    deadlines.schedule_next(core.calendar, case, deadline, request, now)
    log.info("deadline step id=%s case=%s kind=%s step=%s", deadline.id, case.ref, deadline.kind, step,
             extra={"event": "deadline-step", "case": case.ref, "actor": "system"})
    return True


def _statutory_step(
    session: Session, core: Core, case: Case, deadline: Deadline, step: str, key: str
) -> None:
    label, action = deadlines.STATUTORY[deadline.kind]
    template = "statutory_warning" if step == "warning" else "statutory_overdue"
    rendered = render(
        template, ref=case.ref, partnership=core.protocol.partnership.name, deadline_label=label,
        due_at=deadline.due_at, stage_label=LABELS[Stage(case.stage)],
        action=action.replace("REF", case.ref),
    )
    enqueue(
        session, core, key=key, kind=template, to=core.protocol.roles.business_unit_emails(),
        rendered=rendered, case_id=case.id, reason=reasons.deadline(deadline),
    )
    audit.record(
        session, at=core.clock.now(), actor=audit.SYSTEM,
        kind="deadline_warning" if step == "warning" else "deadline_overdue",
        case_id=case.id, deadline=deadline.kind, due_at=deadline.due_at.isoformat(),
    )


def _request_step(
    session: Session, core: Core, case: Case, deadline: Deadline, request: AgencyRequest,
    step: str, key: str, steps: tuple[str, ...],
) -> None:
    now = core.clock.now()
    agency = core.protocol.agency(request.agency)
    policy = deadlines.request_policy(case, request.kind)
    common = {
        "ref": case.ref, "partnership": core.protocol.partnership.name,
        "agency_name": agency.name, "kind_label": deadlines.KIND_LABEL[request.kind],
        "due_at": request.due_at,
    }
    escalation_name = agency.escalation_contact.name if agency.escalation_contact else ""
    # Sent only while the clock runs and the agency has not answered (issue 9 item 6).
    reason = f"{reasons.deadline(deadline)} {reasons.request(request)}"
    if step == "reminder":
        rendered = render("reminder", **common)
        enqueue(
            session, core, key=key, kind="reminder", to=agency.request_addresses, rendered=rendered,
            case_id=case.id, request_id=request.id, in_reply_to=request.message_id, reason=reason,
        )
        audit.record(
            session, at=now, actor=audit.SYSTEM, kind="reminder_sent", case_id=case.id,
            agency=agency.slug, request_kind=request.kind,
        )
        return
    if step == "chase":
        request.chases += 1
        escalates = "escalation" in steps and policy.escalate_to_agency_contact and bool(
            agency.escalation_contact
        )
        rendered = render(
            "overdue_chase", **common, escalates=escalates, escalation_name=escalation_name
        )
        enqueue(
            session, core, key=key, kind="overdue_chase", to=agency.request_addresses,
            rendered=rendered, case_id=case.id, request_id=request.id,
            in_reply_to=request.message_id, reason=reason,
        )
        audit.record(
            session, at=now, actor=audit.SYSTEM, kind="chase_sent", case_id=case.id,
            agency=agency.slug, request_kind=request.kind, chase=request.chases,
        )
        return
    # escalation: the agency's escalation contact, and an alert to the business manager.
    request.escalated_at = now
    told: list[str] = []
    if policy.escalate_to_agency_contact and agency.escalation_contact:
        rendered = render(
            "escalation", **common, escalation_name=escalation_name, chases=request.chases
        )
        enqueue(
            session, core, key=key, kind="escalation", to=[agency.escalation_contact.email],
            cc=agency.request_addresses, rendered=rendered, case_id=case.id,
            request_id=request.id, in_reply_to=request.message_id, reason=reason,
        )
        told.append("agency-escalation-contact")
    if policy.alert_business_manager or not told:
        escalated_to = (
            f"was escalated to {escalation_name}" if told
            else "the agency has no escalation contact in the protocol"
        )
        rendered = render(
            "escalation_alert", **common, chases=request.chases, escalated_to=escalated_to
        )
        enqueue(
            session, core, key=f"{key}:business-manager", kind="escalation_alert",
            to=[core.protocol.roles.business_manager.email], rendered=rendered, case_id=case.id,
            request_id=request.id, reason=reason,
        )
        told.append("business-manager")
    audit.record(
        session, at=now, actor=audit.SYSTEM, kind="request_escalated", case_id=case.id,
        agency=agency.slug, request_kind=request.kind, told=told, chases=request.chases,
    )
