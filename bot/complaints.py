"""Complaints about the partnership's handling of a review (process.md 2.6; STK l.418-427;
decision 0028).

A complaint is a case of kind "complaint" (CO-2026-0001) with its own stages and two clocks
owned by who must answer: the business unit manager's written response within 28 days of receipt
(D-C1, STK l.420) and, when the complainant is not satisfied and contacts the Board Business
Manager, the Independent Chair's further response within 28 days of that contact (D-C2, l.425).
Every written response carries the Ombudsman's details (l.425; bot.complaints_drafts).

The complainant's name and contact are identifying: stored here, put in the response draft, and
never in an audit detail, a chat post or a log line (process.md 8.4).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlmodel import Session, col, select

from bot import audit, cases, review_clocks
from bot.cases import get_case, move_stage, require_stage
from bot.core import Core
from bot.errors import Invalid, NotFound, Refused
from bot.models import Case
from bot.models_sar import Complaint
from bot.refs import next_ref
from bot.sar_protocol import frozen_terms
from bot.stages import CLOSED_STAGES, Stage

KIND = "complaint"
#: What a complaint may be about (STK l.420), or the partnership's handling in general.
ABOUT = {"decision": "the decision whether to conduct a review", "process": "how the review was carried out",
         "outcome": "the outcomes of the review", "general": "the partnership's handling in general"}
NAME_LIMIT, CONTACT_LIMIT = 200, 320
#: Control characters (a NUL, a newline in a name) are refused, not stored: PostgreSQL refuses NUL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
OPEN = frozenset({Stage.COMPLAINT_RECEIVED, Stage.COMPLAINT_RESPONDED, Stage.COMPLAINT_ESCALATED,
                  Stage.COMPLAINT_CHAIR_RESPONDED})


def _require(case: Case, allowed: set[Stage], needs: str) -> None:
    """The stage check every step makes; the refusal names the command that comes first."""
    require_stage(case, allowed, needs.replace("REF", case.ref))


def open_complaint(
    session: Session, core: Core, *, received_on: date, complainant_name: str, complainant_contact: str = "",
    about: str = "general", about_ref: str | None = None, actor: str, source: str,
) -> Case:
    """A complaint is received: the written response is due within 28 days (STK l.420)."""
    now = core.clock.now()
    errors: dict[str, str] = {}
    name, contact = complainant_name.strip(), complainant_contact.strip()
    if not name:
        errors["complainant_name"] = "give the complainant's name (kept in the record and the response only)"
    elif len(name) > NAME_LIMIT or _CONTROL.search(name):
        errors["complainant_name"] = f"the name must be one line of at most {NAME_LIMIT} characters"
    if len(contact) > CONTACT_LIMIT or _CONTROL.search(contact.replace("\n", "")):
        errors["complainant_contact"] = f"the contact must be plain text, at most {CONTACT_LIMIT} characters"
    if received_on > core.calendar.local_date(now):
        errors["received_on"] = "the complaint cannot have been received in the future"
    if about not in ABOUT:
        errors["about"] = f"about must be one of: {', '.join(ABOUT)}"
    about_case = None
    if about_ref:
        try:
            about_case = get_case(session, about_ref)
        except NotFound:
            errors["about_ref"] = f"no case {about_ref}"
        else:
            if about_case.kind == KIND:
                errors["about_ref"] = f"{about_ref} is itself a complaint; name the case it is about"
    if errors:
        raise Invalid(errors)
    case = Case(
        ref=next_ref(session, "CO", received_on.year), kind=KIND, stage=Stage.COMPLAINT_RECEIVED,
        created_at=now, updated_at=now, source=source, referrer=actor, terms=frozen_terms(core.protocol),
    )
    session.add(case)
    session.flush()
    session.add(Complaint(case_id=case.id or 0, about_case_id=about_case.id if about_case else None,
                          about=about, received_on=received_on, complainant_name=name,
                          complainant_contact=contact))
    # Facts only: never the complainant (process.md 8.4).
    audit.record(session, at=now, actor=actor, kind="complaint_opened", case_id=case.id, source=source,
                 about=about, about_ref=about_case.ref if about_case else None,
                 received_on=received_on.isoformat())
    if about_case is not None:
        audit.record(session, at=now, actor=actor, kind="complaint_received", case_id=about_case.id,
                     complaint=case.ref)
    review_clocks.start(session, core, case, "complaint_response",
                        anchor_at=core.calendar.start_of_day(received_on))
    return case


def complaint_of(session: Session, case: Case) -> Complaint:
    if case.kind != KIND:
        raise Refused(f"{case.ref} is not a complaint (CO-... references are)")
    found = session.get(Complaint, case.id)
    assert found is not None, "a complaint case has its complaint row from the start"
    return found


def get_complaint(session: Session, ref: str) -> tuple[Case, Complaint]:
    case = get_case(session, ref)
    return case, complaint_of(session, case)


def _day(core: Core, on: date | None, after: date, what: str) -> date:
    today = core.calendar.local_date(core.clock.now())
    on = on or today
    if on > today:
        raise Invalid({"on": f"the {what} cannot be in the future"})
    if on < after:
        raise Invalid({"on": f"the {what} cannot precede {after:%d %b %Y}"})
    return on


def _met_at(core: Core, on: date) -> datetime:
    """Now for a response sent today; the end of an earlier day recorded late (the clock is met
    by anything done on its due day, bot.calendar.end_of_day)."""
    now = core.clock.now()
    return now if on == core.calendar.local_date(now) else core.calendar.end_of_day(on)


def respond(session: Session, core: Core, case: Case, *, on: date | None = None, actor: str) -> str:
    """The written response went (D-C1), or the Independent Chair's further response (D-C2)."""
    complaint = complaint_of(session, case)
    _require(case, {Stage.COMPLAINT_RECEIVED, Stage.COMPLAINT_ESCALATED},
             "its response is recorded; record the complainant's escalation first "
             "(review-bot complaint REF escalate)" if case.stage == Stage.COMPLAINT_RESPONDED
             else "the Independent Chair's response is recorded; close it")
    if case.stage == Stage.COMPLAINT_RECEIVED:
        complaint.responded_on = _day(core, on, complaint.received_on, "response")
        review_clocks.meet(session, case, "complaint_response", _met_at(core, complaint.responded_on))
        move_stage(session, core, case, Stage.COMPLAINT_RESPONDED, actor,
                   responded_on=complaint.responded_on.isoformat())
        return "response"
    assert complaint.escalated_on is not None
    complaint.chair_responded_on = _day(core, on, complaint.escalated_on, "Independent Chair's response")
    review_clocks.meet(session, case, "complaint_escalation", _met_at(core, complaint.chair_responded_on))
    move_stage(session, core, case, Stage.COMPLAINT_CHAIR_RESPONDED, actor,
               chair_responded_on=complaint.chair_responded_on.isoformat())
    return "chair-response"


def escalate(session: Session, core: Core, case: Case, *, on: date | None = None, actor: str) -> None:
    """The complainant, not satisfied, contacted the Board Business Manager: the Independent Chair
    responds within 28 days of that contact (STK l.423-425)."""
    complaint = complaint_of(session, case)
    _require(case, {Stage.COMPLAINT_RESPONDED},
             "record the written response first (review-bot complaint REF respond)"
             if case.stage == Stage.COMPLAINT_RECEIVED else "it has already been escalated")
    assert complaint.responded_on is not None
    complaint.escalated_on = _day(core, on, complaint.responded_on, "escalation")
    review_clocks.start(session, core, case, "complaint_escalation",
                        anchor_at=core.calendar.start_of_day(complaint.escalated_on))
    move_stage(session, core, case, Stage.COMPLAINT_ESCALATED, actor,
               escalated_on=complaint.escalated_on.isoformat())


def close(
    session: Session, core: Core, case: Case, *, reason: str, ombudsman: bool = False, actor: str,
) -> None:
    """Close the complaint (every clock stops); ``ombudsman``: the complainant went on to it."""
    complaint = complaint_of(session, case)
    complaint.ombudsman_referred = ombudsman
    cases.close(session, core, case, reason=reason, actor=actor)
    if ombudsman:
        audit.record(session, at=core.clock.now(), actor=actor, kind="complaint_to_ombudsman",
                     case_id=case.id)


def complaints(session: Session, *, include_closed: bool = False) -> list[tuple[Case, Complaint]]:
    query = select(Case, Complaint).where(Complaint.case_id == Case.id).order_by(col(Case.id))
    rows = [(c, k) for c, k in session.exec(query)]
    return [(c, k) for c, k in rows if include_closed or c.stage not in CLOSED_STAGES]


def open_complaints_of(session: Session, case: Case) -> list[Case]:
    """The complaints still open about ``case``: a legal-hold reason while any is (process.md 9)."""
    query = select(Case).join(Complaint, col(Complaint.case_id) == col(Case.id)).where(
        Complaint.about_case_id == case.id, col(Case.stage).not_in([str(s) for s in CLOSED_STAGES]))
    return list(session.exec(query.order_by(col(Case.id))))


def complaint_view(session: Session, core: Core, case: Case, complaint: Complaint, *,
                   identifying: bool = False) -> dict[str, object]:
    """A complaint's facts; the complainant only when ``identifying`` (the CLI's own record)."""
    about_case = session.get(Case, complaint.about_case_id) if complaint.about_case_id else None
    running = [d for d in (review_clocks.running(session, case, k)
                           for k in ("complaint_response", "complaint_escalation")) if d is not None]
    view: dict[str, object] = {
        "ref": case.ref, "stage": case.stage, "about": complaint.about,
        "about_ref": about_case.ref if about_case else None,
        "received_on": complaint.received_on.isoformat(),
        "responded_on": complaint.responded_on.isoformat() if complaint.responded_on else None,
        "escalated_on": complaint.escalated_on.isoformat() if complaint.escalated_on else None,
        "chair_responded_on":
            complaint.chair_responded_on.isoformat() if complaint.chair_responded_on else None,
        "ombudsman_referred": complaint.ombudsman_referred,
        "due_at": running[0].due_at.isoformat() if running else None,
        "closed_reason": case.closed_reason,
    }
    if identifying:
        view["complainant_name"] = complaint.complainant_name
        view["complainant_contact"] = complaint.complainant_contact
    return view


def complaint_facts(session: Session, core: Core, case: Case) -> dict[str, object] | None:
    """The case view's part for a complaint (bot.views): never the complainant."""
    if case.kind != KIND:
        return None
    found = session.get(Complaint, case.id)
    return complaint_view(session, core, case, found) if found else None
