"""Deadlines are rows; each carries the plan of what happens as it approaches and passes.

A statutory clock warns the business unit the working day before it runs out and alerts it
when it has. A request's clock follows the chase policy of its kind (protocol ``[chase.*]``):
a reminder before the due time, overdue chases at it and after it, then escalation. Every step
waits for working hours unless the row's ``working_hours`` flag is False (a media enquiry's
clocks, planned by bot.media_clock; decision 0026). ``next_action_at`` is the only thing the sweep
looks at, so the cost of a tick follows what is due, not how many cases exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from bot.calendar import Calendar
from bot.duration import Duration
from bot.models import AgencyRequest, Case, Deadline
from bot.protocol import OWNER_CHASE, ChasePolicy
from bot.review_kinds import CLOCKS

#: Statutory and guidance clocks on a case (process.md section 3), with what they mean to a person.
STATUTORY: dict[str, tuple[str, str]] = {
    # kind: (label, what the business unit should do)
    "sin_notification": (
        "notification to the National Panel (D-01)",
        "The local authority must submit the serious incident notification; record it with "
        "'review-bot case REF sin-submitted'.",
    ),
    "lac_notification": (
        "notification of the death to the Secretary of State and Ofsted (D-01b)",
        "The local authority must notify through the DfE system.",
    ),
    "rapid_review": (
        "rapid review to the National Panel (D-04)",
        "The panel's decision and the rapid review must go to the National Panel; record the "
        "decision with 'review-bot case REF decide OPTION'.",
    ),
    "lcspr_publication": (
        "local review published (D-10)",
        "The local review should be published; a later date needs a recorded reason and notice "
        "to the Panel and the Secretary of State (KIR l.316).",
    ),
    # The local review's clocks have an owner who is chased (bot.owner_clocks); the business unit
    # records them done with the command named.
    **{kind: (clock.label, f"Record it with '{clock.record}'.") for kind, clock in CLOCKS.items()},
}

REQUEST_DEADLINE = {"info-gathering": "info_gathering_return", "chronology": "chronology_return"}
KIND_LABEL = {"info-gathering": "information gathering", "chronology": "chronology"}


def request_policy(case: Case, kind: str) -> ChasePolicy:
    """The chase policy the case froze when it opened."""
    return ChasePolicy.model_validate(case.terms["chase"][kind])


#: The owner chase for a case whose frozen terms predate it and were never completed
#: (bot.review_clocks.freeze_terms adds the protocol's when a review clock opens).
DEFAULT_OWNER_CHASE = {"reminder_before": "2 working days", "overdue_chase": True,
                       "repeat_every": "2 working days", "escalate_after": 1}


def owner_policy(case: Case) -> ChasePolicy:
    return ChasePolicy.model_validate(case.terms.get("chase", {}).get(OWNER_CHASE, DEFAULT_OWNER_CHASE))


def case_duration(case: Case, name: str) -> Duration:
    return Duration.parse(case.terms["durations"][name])


@dataclass(frozen=True)
class Plan:
    steps: tuple[str, ...]
    warn_before: Duration | None = None  # statutory warning / request reminder
    repeat: Duration | None = None


def plan_for(case: Case, deadline: Deadline, request: AgencyRequest | None) -> Plan:
    if deadline.owner is not None:  # a clock somebody owes: chased like a request (decision 0022)
        return policy_plan(owner_policy(case))
    if request is None:
        return Plan(("warning", "overdue"), warn_before=case_duration(case, "statutory_warning_before"))
    return policy_plan(request_policy(case, request.kind))


def policy_plan(policy: ChasePolicy) -> Plan:
    """Reminder before, overdue chase(s), then escalation, as the policy says."""
    steps: list[str] = []
    if policy.reminder_before is not None:
        steps.append("reminder")
    if policy.overdue_chase:
        steps.extend(["chase"] * max(policy.escalate_after, 1))
    if policy.escalate_to_agency_contact or policy.alert_business_manager:
        steps.append("escalation")
    return Plan(tuple(steps), warn_before=policy.reminder_before, repeat=policy.repeat_every)


def step_time(
    cal: Calendar, plan: Plan, deadline: Deadline, index: int, last_action_at: datetime
) -> datetime | None:
    """When step ``index`` should happen, or None when it no longer makes sense."""
    name = plan.steps[index]
    due = deadline.due_at
    # The row's flag: a clock that does not wait for working hours takes its steps at their time.
    moment = cal.next_working_moment if deadline.working_hours else _exactly
    if name in ("warning", "reminder"):
        assert plan.warn_before is not None
        at = moment(cal.shift_back(due, plan.warn_before))
        # A warning only helps before the deadline, and not the moment the clock starts.
        if at >= due or at <= deadline.anchor_at or last_action_at >= due:
            return None
        return at
    first_after_due = all(s in ("warning", "reminder") for s in plan.steps[:index])
    if name == "overdue" or first_after_due or plan.repeat is None:
        return moment(max(due, last_action_at))
    return moment(cal.shift(last_action_at, plan.repeat))


def _exactly(at: datetime) -> datetime:
    return at


def schedule_next(
    cal: Calendar, case: Case, deadline: Deadline, request: AgencyRequest | None,
    last_action_at: datetime,
) -> None:
    """Set ``step``/``next_action_at`` to the next step that still makes sense (or none)."""
    plan = plan_for(case, deadline, request)
    while deadline.step < len(plan.steps):
        at = step_time(cal, plan, deadline, deadline.step, last_action_at)
        if at is not None:
            deadline.next_action_at = at
            return
        deadline.step += 1
    deadline.next_action_at = None


def open_deadline(
    session: Session, cal: Calendar, case: Case, *, kind: str, anchor_at: datetime,
    duration: Duration | None = None, request: AgencyRequest | None = None,
    due_at: datetime | None = None, owner: str | None = None,
) -> Deadline:
    """A new clock ``duration`` after ``anchor_at``, or due at ``due_at`` (a clock counted back
    from a future date, or a date set on the case)."""
    assert case.id is not None
    if due_at is None:
        assert duration is not None, "a deadline needs a duration or a due time"
        due_at = cal.due_after(anchor_at, duration)
    deadline = Deadline(
        case_id=case.id, request_id=request.id if request else None, kind=kind,
        anchor_at=anchor_at, due_at=due_at, owner=owner,
    )
    schedule_next(cal, case, deadline, request, anchor_at)
    session.add(deadline)
    return deadline


def open_statutory(
    session: Session, cal: Calendar, case: Case, kind: str, anchor: datetime | date,
    now: datetime,
) -> Deadline:
    """Start (or restart, if its anchor was corrected) a statutory clock on the case."""
    anchor_at = anchor if isinstance(anchor, datetime) else cal.start_of_day(anchor)
    existing = find(session, case, kind)
    if existing is not None and existing.met_at is None and existing.cancelled_at is None:
        if existing.anchor_at == anchor_at:
            return existing
        cancel(existing, now)
    return open_deadline(
        session, cal, case, kind=kind, anchor_at=anchor_at, duration=case_duration(case, kind)
    )


def find(session: Session, case: Case, kind: str) -> Deadline | None:
    return session.exec(
        select(Deadline)
        .where(Deadline.case_id == case.id, Deadline.kind == kind, col(Deadline.request_id).is_(None))
        .order_by(col(Deadline.id).desc())
    ).first()


def meet(deadline: Deadline, at: datetime) -> None:
    if deadline.met_at is None and deadline.cancelled_at is None:
        deadline.met_at = at
        deadline.next_action_at = None


def cancel(deadline: Deadline, at: datetime) -> None:
    if deadline.met_at is None and deadline.cancelled_at is None:
        deadline.cancelled_at = at
        deadline.next_action_at = None


def meet_statutory(session: Session, case: Case, kind: str, at: datetime) -> Deadline | None:
    deadline = find(session, case, kind)
    if deadline is not None:
        meet(deadline, at)
    return deadline


def open_deadlines(session: Session, case: Case) -> list[Deadline]:
    return list(
        session.exec(
            select(Deadline).where(
                Deadline.case_id == case.id, col(Deadline.met_at).is_(None),
                col(Deadline.cancelled_at).is_(None),
            )
        )
    )
