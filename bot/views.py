"""Read models: what a person sees of a case, the case list and the triage list.

One shape serves the CLI (``--json``), the Slack card and App Home. Nothing here carries
narrative or identities: references, stages, dates, agencies, deadlines, counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot import action_plan, audit
from bot.agency_requests import requests_of
from bot.calendar import Calendar
from bot.complaints import complaint_facts
from bot.core import Core
from bot.deadlines import KIND_LABEL, STATUTORY
from bot.inbound import attachments_of, triage_items
from bot.models import Case, Deadline, Publication
from bot.models_review import LocalReview
from bot.review_kinds import owner_label
from bot.sar import sar_view
from bot.stages import CLOSED_STAGES, LABELS, LOCAL_REVIEW, NEXT_STEP, Stage


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def deadline_state(cal: Calendar, deadline: Deadline, now: datetime) -> str:
    """met | met-late | cancelled | overdue | due-soon (within a working day) | open."""
    if deadline.met_at:
        return "met" if deadline.met_at <= deadline.due_at else "met-late"
    if deadline.cancelled_at:
        return "cancelled"
    if now > deadline.due_at:
        return "overdue"
    if cal.working_days_between(cal.local_date(now), cal.local_date(deadline.due_at)) <= 1:
        return "due-soon"
    return "open"


def deadline_label(deadline: Deadline, agency: str | None = None) -> str:
    if deadline.owner and deadline.owner.startswith("agency:"):  # an IMR: whose it is
        return f"{STATUTORY[deadline.kind][0]} from {deadline.owner.removeprefix('agency:')}"
    if deadline.kind in STATUTORY:
        return STATUTORY[deadline.kind][0]
    kind = "chronology" if deadline.kind.startswith("chronology") else "info-gathering"
    return f"{KIND_LABEL[kind]} return from {agency}"


def case_view(session: Session, core: Core, case: Case) -> dict[str, Any]:
    now = core.clock.now()
    deadlines = list(
        session.exec(select(Deadline).where(Deadline.case_id == case.id).order_by(col(Deadline.id)))
    )
    requests = requests_of(session, case)
    agency_of = {r.id: r.agency for r in requests}
    return {
        "ref": case.ref,
        "stage": case.stage,
        "stage_label": LABELS[Stage(case.stage)],
        "source": case.source,
        "opened_at": _iso(case.created_at),
        "referring_agency": case.referring_agency,
        "incident_date": case.incident_date.isoformat() if case.incident_date else None,
        "la_aware_date": case.la_aware_date.isoformat() if case.la_aware_date else None,
        "outcome": case.outcome,
        "abuse_neglect": case.abuse_neglect,
        "legal_status": case.legal_status,
        "age_band": case.age_band,
        "agencies_involved": case.agencies_involved,
        "parallel_processes": case.parallel_processes,
        "media_interest": case.media_interest,
        "missing": case.missing,
        "sin_submitted_at": _iso(case.sin_submitted_at),
        "decision": case.decision,
        "decision_at": _iso(case.decision_at),
        "route": case.route,
        "deadlines": [
            {
                "kind": d.kind,
                "label": deadline_label(d, agency_of.get(d.request_id)),
                "agency": agency_of.get(d.request_id),
                "due_at": _iso(d.due_at),
                "met_at": _iso(d.met_at),
                "cancelled_at": _iso(d.cancelled_at),
                "state": deadline_state(core.calendar, d, now),
                "next_action_at": _iso(d.next_action_at),
                "owner": d.owner,
                "owner_label": owner_label(d.owner) if d.owner else None,
            }
            for d in deadlines
        ],
        "next_step": NEXT_STEP[Stage(case.stage)].replace("REF", case.ref),
        "next_deadline": _next_deadline(core, deadlines, agency_of, now),
        "review": _review(session, core, case),
        # Counts only, once published (decision 0027): an action's text never reaches a card.
        "actions": action_plan.summary(session, core, case),
        "kind": case.kind,
        # A SAR's screening and decision, a complaint's dates (no complainant): decision 0028.
        "sar": sar_view(session, case),
        "complaint": complaint_facts(session, core, case),
        "requests": [
            {
                "agency": r.agency,
                "kind": r.kind,
                "status": r.status,
                "sent_at": _iso(r.sent_at),
                "due_at": _iso(r.due_at),
                "returned_at": _iso(r.returned_at),
                "returned_via": r.returned_via,
                "chases": r.chases,
                "escalated_at": _iso(r.escalated_at),
                "last_auto_reply_at": _iso(r.last_auto_reply_at),
                "bounced_at": _iso(r.bounced_at),
                "named_by": r.named_by,
            }
            for r in requests
        ],
        "events": [
            {"at": _iso(e.at), "actor": e.actor, "kind": e.kind, "detail": e.detail}
            for e in audit.timeline(session, case.id or 0)
        ],
    }


def _next_deadline(
    core: Core, deadlines: list[Deadline], agency_of: dict[int | None, str], now: datetime,
) -> dict[str, Any] | None:
    """The open clock due first: what the card shows beside the next step."""
    running = sorted((d for d in deadlines if d.met_at is None and d.cancelled_at is None),
                     key=lambda d: d.due_at)
    if not running:
        return None
    d = running[0]
    return {"kind": d.kind, "label": deadline_label(d, agency_of.get(d.request_id)), "due_at": _iso(d.due_at),
            "state": deadline_state(core.calendar, d, now), "owner_label": owner_label(d.owner)}


def _review(session: Session, core: Core, case: Case) -> dict[str, Any] | None:
    """How the local review is run (no names or addresses: the reviewer's are in the record only).
    Before its row exists, the protocol's methodology: the one bot.review.review_of will give it."""
    if case.stage not in LOCAL_REVIEW:
        return None
    found = session.get(LocalReview, case.id)
    publication = session.get(Publication, case.id)
    return {
        "methodology": found.methodology if found else core.protocol.review.methodology,
        "reviewer_recorded": bool(found and found.reviewer_email),
        "tor_agreed_on": found.tor_agreed_on.isoformat() if found and found.tor_agreed_on else None,
        "learning_events": found.learning_events if found else 0,
        "target_date": found.target_date.isoformat() if found and found.target_date else None,
        "publication_date": publication.publication_date.isoformat()
        if publication and publication.publication_date else None,
    }


def case_list(session: Session, core: Core, *, include_closed: bool = False) -> list[dict[str, Any]]:
    now = core.clock.now()
    query = select(Case).order_by(col(Case.id))
    if not include_closed:
        query = query.where(col(Case.stage).not_in([s.value for s in CLOSED_STAGES]))
    rows = []
    for case in session.exec(query):
        open_deadlines = list(
            session.exec(
                select(Deadline)
                .where(
                    Deadline.case_id == case.id, col(Deadline.met_at).is_(None),
                    col(Deadline.cancelled_at).is_(None),
                )
                .order_by(col(Deadline.due_at))
            )
        )
        nxt = open_deadlines[0] if open_deadlines else None
        requests = requests_of(session, case)
        rows.append({
            "ref": case.ref,
            "stage": case.stage,
            "stage_label": LABELS[Stage(case.stage)],
            "next_step": NEXT_STEP[Stage(case.stage)].replace("REF", case.ref),
            "next_deadline": None if nxt is None else {
                "kind": nxt.kind,
                "label": deadline_label(nxt, {r.id: r.agency for r in requests}.get(nxt.request_id)),
                "due_at": _iso(nxt.due_at),
                "state": deadline_state(core.calendar, nxt, now),
                "owner_label": owner_label(nxt.owner),
            },
            "returns_outstanding": sorted({r.agency for r in requests if r.status == "sent"}),
        })
    return rows


def triage_list(session: Session) -> list[dict[str, Any]]:
    out = []
    for item in triage_items(session):
        case = session.get(Case, item.case_id) if item.case_id else None
        out.append({
            "id": item.id,
            "received_at": _iso(item.received_at),
            "message_id": item.message_id,
            "sender_domain": item.from_addr.rsplit("@", 1)[-1] if item.from_addr else None,
            "classification": item.classification,
            "case": case.ref if case else None,
            "agency": item.agency,
            "reason": item.triage_reason,
            "attachments": len(attachments_of(session, item.id or 0)),
        })
    return out
