"""Chasing whoever owes a clock (decision 0022): the reviewer, the workstream chair, the business
group, the business unit, any person the protocol names, or an agency.

A deadline with an ``owner`` follows the protocol's ``[chase.owner]`` policy (bot.deadlines.plan_for):
a reminder before it is due, chase(s) once it is, then an alert to the business manager (and to an
agency's escalation contact). Each step is one outbox message under ``deadline:<id>:step:<n>``,
written in the sweep's transaction under the deadline's claim (bot.chasers), and cancelled at
delivery if the clock was met meanwhile or the case closed (bot.reasons). Another kind of clock
(an action owner, a SAR screening) reuses this by opening a deadline with an owner and adding its
labels to :data:`bot.review_kinds.CLOCKS` or :data:`LABELS`. A media enquiry's clocks are rows of
the same sweep with their own plan (bot.media_clock, bot.media_chasers; decision 0026).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot import action_plan, audit, deadlines, reasons
from bot.core import Core
from bot.mailer import render
from bot.models import Case, Deadline
from bot.models_review import LocalReview
from bot.outbox import enqueue
from bot.protocol import UnknownAgency
from bot.review_kinds import CLOCKS, owner_label
from bot.stages import LABELS, Stage

#: What the reference names in an owner's email, by case kind (decision 0028).
WHAT = {"sar": "safeguarding adults review", "complaint": "complaint"}


@dataclass(frozen=True)
class Owner:
    name: str
    to: list[str]
    #: Who else hears of an escalation (an agency's escalation contact).
    escalation_to: list[str]
    #: Why the business manager is chased in the owner's place (nobody recorded), else None.
    standing_in: str | None = None
    #: How the email greets them ("Dear ..."), when not by ``name``.
    greeting: str | None = None


def resolve(session: Session, core: Core, case: Case, owner: str) -> Owner:
    """The people behind an owner key; the business manager stands in for one not recorded."""
    roles = core.protocol.roles
    manager = roles.business_manager
    if owner == "business_unit":
        return Owner("the business unit", roles.business_unit_emails(), [], greeting="colleagues")
    if owner.startswith("agency:"):
        try:
            agency = core.protocol.agency(owner.removeprefix("agency:"))
        except UnknownAgency:
            return Owner(manager.name, [manager.email], [], "the agency is no longer in the protocol")
        contact = [agency.escalation_contact.email] if agency.escalation_contact else []
        return Owner(agency.name, list(agency.request_addresses), contact)
    if owner == "reviewer":
        review = session.get(LocalReview, case.id)
        if review is None or not review.reviewer_email:
            return Owner(manager.name, [manager.email], [], "no reviewer is recorded on the case")
        return Owner(review.reviewer_name or "the reviewer", [review.reviewer_email], [])
    person = getattr(roles, owner, None) if owner in type(roles).model_fields else None
    if person is None or isinstance(person, list):
        nobody = owner_label(owner).removeprefix("the ")
        return Owner(manager.name, [manager.email], [], f"the protocol names no {nobody}")
    return Owner(person.name, [person.email], [])


def label(deadline: Deadline) -> str:
    clock = CLOCKS.get(deadline.kind)
    return clock.label if clock else deadline.kind.replace("_", " ")


def step(session: Session, core: Core, case: Case, deadline: Deadline, name: str, key: str) -> None:
    """Take the step ``name`` (reminder | chase | escalation) of an owned clock."""
    assert deadline.owner is not None
    who = resolve(session, core, case, deadline.owner)
    clock = CLOCKS.get(deadline.kind)
    said, record = label(deadline), clock.record if clock else ""
    if deadline.kind == action_plan.CLOCK:  # which action: its number, never its text
        said, record = action_plan.chase_words(session, deadline)
    common = {
        "ref": case.ref, "partnership": core.protocol.partnership.name, "deadline_label": said,
        "due_at": deadline.due_at, "owner_name": who.name, "greeting": who.greeting or who.name,
        # The drafts it names are commands on this case ("review-bot case REF draft ...").
        "owed": clock.owed.replace("REF", case.ref) if clock else "",
        "stage_label": LABELS[Stage(case.stage)], "standing_in": who.standing_in,
        "record": record.replace("REF", case.ref),
        "what": WHAT.get(case.kind, "local review"),
    }
    # Sent only while the clock runs and the case is open (issue 9 item 6).
    reason = f"{reasons.deadline(deadline)} {reasons.case(case)}"
    manager = core.protocol.roles.business_manager.email
    if name in ("reminder", "chase"):
        template = "owner_reminder" if name == "reminder" else "owner_overdue"
        cc = [] if name == "reminder" or manager in who.to else [manager]
        enqueue(session, core, key=key, kind=template, to=who.to, cc=cc, rendered=render(template, **common),
                case_id=case.id, reason=reason)
        event = "deadline_warning" if name == "reminder" else "deadline_overdue"
    else:
        policy = deadlines.owner_policy(case)
        to = who.escalation_to if policy.escalate_to_agency_contact else []
        if policy.alert_business_manager or not to:
            to = [*to, manager]
        enqueue(session, core, key=key, kind="owner_escalation", to=list(dict.fromkeys(to)), cc=who.to,
                rendered=render("owner_escalation", **common), case_id=case.id, reason=reason)
        event = "deadline_escalated"
    audit.record(session, at=core.clock.now(), actor=audit.SYSTEM, kind=event, case_id=case.id,
                 deadline=deadline.kind, due_at=deadline.due_at.isoformat(), owner=deadline.owner)
