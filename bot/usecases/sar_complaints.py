"""The complaints use cases (process.md 2.6; decision 0028): the business unit only, one
transaction each. A Result's message and view carry references, stages and dates; the
complainant appears only in ``show`` (the business unit's own record) and in the response draft,
which a door writes to a file or to the person's own terminal, never to a channel.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from bot import access_log, audit, complaints, complaints_drafts, review_clocks
from bot.actors import Actor
from bot.core import Core
from bot.models import Case
from bot.stages import LABELS, Stage
from bot.usecases.common import once, require_business_unit
from bot.usecases.result import Result


def _result(session: Session, core: Core, case: Case, message: str) -> Result:
    complaint = complaints.complaint_of(session, case)
    assert case.id is not None
    return Result(message=message, ref=case.ref, changed=(("case", case.id),),
                  view=complaints.complaint_view(session, core, case, complaint),
                  data={"stage": case.stage, "case_id": case.id})


def _due(session: Session, core: Core, case: Case) -> str:
    """The running clock's due day, as a person reads it."""
    for kind in ("complaint_escalation", "complaint_response"):
        running = review_clocks.running(session, case, kind)
        if running is not None:
            return f"{core.calendar.local_date(running.due_at):%a %d %b %Y}"
    return "(none)"


def open_complaint(core: Core, actor: Actor, *, received_on: date | None, complainant_name: str,
                   complainant_contact: str = "", about: str = "general", about_ref: str | None = None,
                   key: str | None = None) -> Result:
    require_business_unit(core, actor, "open_complaint", about_ref)

    def run(session: Session) -> Result:
        case = complaints.open_complaint(
            session, core, received_on=received_on or core.calendar.local_date(core.clock.now()),
            complainant_name=complainant_name, complainant_contact=complainant_contact, about=about,
            about_ref=about_ref, actor=actor.key, source=actor.surface)
        return _result(session, core, case, f"{case.ref}: complaint recorded; written response due by "
                                            f"{_due(session, core, case)}")

    return once(core, actor, key, run)


def respond(core: Core, actor: Actor, ref: str, *, on: date | None = None, key: str | None = None) -> Result:
    require_business_unit(core, actor, "complaint_respond", ref)

    def run(session: Session) -> Result:
        case, _ = complaints.get_complaint(session, ref)
        which = complaints.respond(session, core, case, on=on, actor=actor.key)
        said = "the Independent Chair's response" if which == "chair-response" else "the written response"
        return _result(session, core, case, f"{case.ref}: {said} recorded; now {LABELS[Stage(case.stage)]}")

    return once(core, actor, key, run)


def escalate(core: Core, actor: Actor, ref: str, *, on: date | None = None, key: str | None = None) -> Result:
    require_business_unit(core, actor, "complaint_escalate", ref)

    def run(session: Session) -> Result:
        case, _ = complaints.get_complaint(session, ref)
        complaints.escalate(session, core, case, on=on, actor=actor.key)
        return _result(session, core, case, f"{case.ref}: escalated to the Independent Chair; further "
                                            f"response due by {_due(session, core, case)}")

    return once(core, actor, key, run)


def close(core: Core, actor: Actor, ref: str, *, reason: str, ombudsman: bool = False,
          key: str | None = None) -> Result:
    require_business_unit(core, actor, "complaint_close", ref)

    def run(session: Session) -> Result:
        case, _ = complaints.get_complaint(session, ref)
        complaints.close(session, core, case, reason=reason, ombudsman=ombudsman, actor=actor.key)
        return _result(session, core, case, f"{case.ref}: closed")

    return once(core, actor, key, run)


def listing(core: Core, actor: Actor, *, include_closed: bool = False) -> Result:
    """The complaints log (STK l.427): references, dates and stages, no complainants."""
    require_business_unit(core, actor, "complaint_list")
    with core.transaction() as session:
        rows = [complaints.complaint_view(session, core, case, complaint)
                for case, complaint in complaints.complaints(session, include_closed=include_closed)]
    return Result(message=f"{len(rows)} complaint(s)", view={"kind": "complaints", "rows": rows})


def show(core: Core, actor: Actor, ref: str) -> Result:
    """One complaint with its complainant: the business unit's own record (never a channel)."""
    require_business_unit(core, actor, "complaint_show", ref)
    with core.transaction() as session:
        case, complaint = complaints.get_complaint(session, ref)
        view = complaints.complaint_view(session, core, case, complaint, identifying=True)
        audit.record(session, at=core.clock.now(), actor=actor.key, kind="complaint_viewed", case_id=case.id)
        # The complainant's identity was shown (process.md 8.4 item 8; issue 13 item 4).
        access_log.record(session, at=core.clock.now(), actor=actor.key, surface=actor.surface,
                          case_id=case.id, what=access_log.VIEW, detail="complaint")
    return Result(message=f"{case.ref}: {LABELS[Stage(case.stage)]}", ref=case.ref, view=view)


def draft_response(core: Core, actor: Actor, ref: str) -> Result:
    require_business_unit(core, actor, "complaint_draft", ref)
    with core.transaction() as session:
        case, complaint = complaints.get_complaint(session, ref)
        about = session.get(Case, complaint.about_case_id) if complaint.about_case_id else None
        text = complaints_drafts.draft_response(core, case, complaint, about.ref if about else None)
        audit.record(session, at=core.clock.now(), actor=actor.key, kind="draft_made", case_id=case.id,
                     draft="complaint-response")
        access_log.record(session, at=core.clock.now(), actor=actor.key, surface=actor.surface,
                          case_id=case.id, what=access_log.DRAFT, detail="complaint-response")
    return Result(message=f"{case.ref}: response drafted", ref=case.ref, data={"text": text})
