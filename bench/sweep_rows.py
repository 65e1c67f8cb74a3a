"""The sweep benchmark's rows, bulk-inserted with SQLAlchemy Core as the services would make them
(see bench/sweep.py for what is timed): ``populate`` (nothing due) and ``make_due``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, update
from sqlmodel import select

from bench._common import BENCH_NOW, sync_sequences
from bot import deadlines
from bot.core import Core
from bot.mailer import render
from bot.models import AgencyRequest, Case, Deadline, OutboxMessage
from bot.stages import Stage

REQUESTS_PER_CASE = 10
CHUNK = 5_000
INFO_AGENCIES = ["la-csc", "police", "icb", "acute-trust", "school", "charity"]


def _agency_plan(core: Core) -> list[tuple[str, str]]:
    """The (kind, agency) of each of a case's requests: info gathering to all, chronology to 3."""
    slugs = core.protocol.agency_slugs()
    plan = [("info-gathering", s) for s in slugs]
    plan += [("chronology", s) for s in slugs[: REQUESTS_PER_CASE - len(plan)]]
    if len(plan) != REQUESTS_PER_CASE:
        raise SystemExit(f"the protocol has {len(slugs)} agencies; cannot make {REQUESTS_PER_CASE} "
                         "distinct requests per case")
    return plan


@dataclass
class _Templates:
    """Deadline fields as the services compute them, per (request kind, minutes before now)."""

    core: Core
    case: Case
    cache: dict[tuple[str | None, int], dict[str, Any]] = field(default_factory=dict)

    def request(self, kind: str, minutes_ago: int) -> dict[str, Any]:
        key = (kind, minutes_ago)
        if key not in self.cache:
            cal = self.core.calendar
            sent = BENCH_NOW - timedelta(minutes=minutes_ago)
            duration = deadlines.case_duration(self.case, deadlines.REQUEST_DEADLINE[kind])
            request = AgencyRequest(case_id=1, agency="police", kind=kind, sent_at=sent,
                                    due_at=cal.due_after(sent, duration))
            dl = Deadline(case_id=1, kind=deadlines.REQUEST_DEADLINE[kind], anchor_at=sent,
                          due_at=request.due_at)
            deadlines.schedule_next(cal, self.case, dl, request, sent)
            self.cache[key] = {
                "sent_at": sent, "due_at": request.due_at, "kind_deadline": dl.kind,
                "step": dl.step, "next_action_at": dl.next_action_at,
            }
        return self.cache[key]

    def statutory(self, kind: str, anchor: datetime) -> dict[str, Any]:
        key = (kind, int(anchor.timestamp()))
        if key not in self.cache:
            cal = self.core.calendar
            dl = Deadline(case_id=1, kind=kind, anchor_at=anchor,
                          due_at=cal.due_after(anchor, deadlines.case_duration(self.case, kind)))
            deadlines.schedule_next(cal, self.case, dl, None, anchor)
            self.cache[key] = {"due_at": dl.due_at, "step": dl.step,
                               "next_action_at": dl.next_action_at}
        return self.cache[key]


def _insert(core: Core, model: Any, rows: list[dict[str, Any]]) -> None:
    with core.db.transaction() as session:
        for i in range(0, len(rows), CHUNK):
            session.execute(insert(model), rows[i: i + CHUNK])


def populate(core: Core, n_cases: int) -> int:
    """Bulk-insert ``n_cases`` cases with 10 requests each, nothing due. Returns the request count."""
    now = BENCH_NOW
    terms = core.protocol.terms()
    probe = Case(ref="X", stage=Stage.INFO_GATHERING, created_at=now, updated_at=now, source="cli",
                 referrer="bench", terms=terms)
    tpl = _Templates(core, probe)
    plan = _agency_plan(core)
    agencies = {a.slug: a for a in core.protocol.agencies}
    rendered = {
        (kind, slug): render(
            "info_gathering_request" if kind == "info-gathering" else "chronology_request",
            ref="SI-2026-00001", partnership=core.protocol.partnership.name,
            agency_name=agencies[slug].name,
            duration=core.protocol.terms()["durations"][deadlines.REQUEST_DEADLINE[kind]],
            due_at=now,
        )
        for kind, slug in plan
    }
    cases: list[dict[str, Any]] = []
    requests: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    rows_deadline: list[dict[str, Any]] = []
    request_id = 0
    for c in range(1, n_cases + 1):
        ref = f"SI-2026-{c:05d}"
        la_aware = date(2026, 11, 16)
        sin_anchor = core.calendar.start_of_day(la_aware)
        notified = now - timedelta(hours=1 + c % 20)
        cases.append({
            "id": c, "ref": ref, "stage": Stage.INFO_GATHERING.value,
            "created_at": sin_anchor, "updated_at": notified, "source": "email",
            "referrer": "duty.manager@borough.example", "referring_agency": "la-csc",
            "incident_date": date(2026, 11, 15), "la_aware_date": la_aware, "outcome": "serious-harm",
            "abuse_neglect": "yes", "legal_status": "cin", "age_band": "5-9",
            "agencies_involved": [s for _k, s in plan[:7]], "parallel_processes": [],
            "missing": [], "sin_submitted_at": notified, "terms": terms,
        })
        sin = tpl.statutory("sin_notification", sin_anchor)
        rows_deadline.append({
            "case_id": c, "request_id": None, "kind": "sin_notification", "anchor_at": sin_anchor,
            "due_at": sin["due_at"], "met_at": notified, "step": sin["step"], "next_action_at": None,
        })
        rr = tpl.statutory("rapid_review", notified)
        rows_deadline.append({
            "case_id": c, "request_id": None, "kind": "rapid_review", "anchor_at": notified,
            "due_at": rr["due_at"], "step": rr["step"], "next_action_at": rr["next_action_at"],
        })
        for kind, slug in plan:
            request_id += 1
            t = tpl.request(kind, (c * 7 + request_id) % 60)
            message_id = f"<bench.req.{request_id}@partnership.example>"
            requests.append({
                "id": request_id, "case_id": c, "agency": slug, "kind": kind, "status": "sent",
                "sent_at": t["sent_at"], "due_at": t["due_at"], "chases": 0, "message_id": message_id,
            })
            r = rendered[(kind, slug)]
            outbox.append({
                "idempotency_key": f"request:{request_id}:sent", "kind": f"{kind}_request",
                "case_id": c, "request_id": request_id, "to": agencies[slug].request_addresses,
                "cc": [], "subject": r.subject.replace("SI-2026-00001", ref),
                "body_text": r.text.replace("SI-2026-00001", ref),
                "body_html": r.html.replace("SI-2026-00001", ref), "message_id": message_id,
                "status": "sent", "attempts": 1, "created_at": t["sent_at"],
                "next_attempt_at": t["sent_at"], "claimed_at": t["sent_at"], "sent_at": t["sent_at"],
            })
            rows_deadline.append({
                "case_id": c, "request_id": request_id, "kind": t["kind_deadline"],
                "anchor_at": t["sent_at"], "due_at": t["due_at"], "step": t["step"],
                "next_action_at": t["next_action_at"],
            })
    _insert(core, Case, cases)
    _insert(core, AgencyRequest, requests)
    _insert(core, OutboxMessage, outbox)
    _insert(core, Deadline, rows_deadline)
    sync_sequences(core)  # the due tick inserts outbox rows after these explicit ids
    with core.db.session() as session:
        due = session.exec(
            select(func.count()).select_from(Deadline).where(Deadline.next_action_at <= now)
        ).one()
    if due:
        raise SystemExit(f"setup error: {due} deadlines are already due")
    return request_id


def make_due(core: Core, n_due: int) -> None:
    """Make ``n_due`` information gathering deadlines due now: half reminders, half chases."""
    now = BENCH_NOW
    with core.db.transaction() as session:
        ids = list(session.exec(
            select(Deadline.id, Deadline.request_id)
            .where(Deadline.kind == "info_gathering_return")
            .order_by(Deadline.id)
        ))
        stride = max(1, len(ids) // n_due)
        chosen = ids[::stride][:n_due]
        if len(chosen) != n_due:
            raise SystemExit(f"only {len(chosen)} request deadlines to make due")
        reminders, chases = chosen[: n_due // 2], chosen[n_due // 2:]
        # Reminder (step 0): due in two hours, the reminder fell due five minutes ago.
        rem_due = now + timedelta(hours=2)
        session.execute(update(Deadline).where(Deadline.id.in_([d for d, _r in reminders]))
                        .values(step=0, due_at=rem_due, next_action_at=now - timedelta(minutes=5)))
        session.execute(update(AgencyRequest).where(AgencyRequest.id.in_([r for _d, r in reminders]))
                        .values(due_at=rem_due))
        # Overdue chase (step 1): the return was due ten minutes ago.
        chase_due = now - timedelta(minutes=10)
        session.execute(update(Deadline).where(Deadline.id.in_([d for d, _r in chases]))
                        .values(step=1, due_at=chase_due, next_action_at=chase_due))
        session.execute(update(AgencyRequest).where(AgencyRequest.id.in_([r for _d, r in chases]))
                        .values(due_at=chase_due))
