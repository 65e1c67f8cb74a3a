"""What the report reads from the database, as plain facts (issue 14).

One pass per table (cases, statutory clocks, publication, tags, stage changes, requests, media),
so the report costs a handful of queries whatever the number of cases, and the panels
(bot.report) compute from these facts alone. Nothing here keeps a name or typed text: a case is
its id, stage, dates and decisions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.core import Core
from bot.media_report import media_report
from bot.models import AgencyRequest, Case, Deadline, Event, MediaEnquiry, MediaStatement, Publication
from bot.models_report import CaseTag
from bot.report_vocabulary import THEME

#: The case-level clocks the timeliness panel reads (process.md section 3: D-01, D-04, D-10, D-11).
CLOCK_KINDS = ("sin_notification", "rapid_review", "lcspr_publication", "prepublication_notice")


@dataclass(frozen=True)
class ClockFact:
    kind: str
    anchor_at: datetime
    due_at: datetime
    met_at: datetime | None
    cancelled_at: datetime | None


@dataclass
class CaseFact:
    id: int
    stage: str
    created_at: datetime
    la_aware_date: date | None
    decision: str | None
    decision_at: datetime | None
    #: When the case reached its current stage.
    stage_since: datetime
    clocks: list[ClockFact] = field(default_factory=list)
    embargo_reason: str | None = None
    published_at: datetime | None = None
    themes: set[str] = field(default_factory=set)
    outcomes: dict[str, str] = field(default_factory=dict)

    def clock(self, kind: str) -> ClockFact | None:
        """The case's clock of this kind in force: the last one not cancelled (a corrected anchor
        cancels and restarts it: bot.deadlines.open_statutory), else the last."""
        mine = [c for c in self.clocks if c.kind == kind]
        live = [c for c in mine if c.cancelled_at is None]
        found = live or mine
        return found[-1] if found else None


@dataclass(frozen=True)
class RequestFact:
    agency: str
    kind: str  # info-gathering | chronology
    sent_at: datetime
    due_at: datetime
    returned_at: datetime | None
    status: str
    chases: int


@dataclass(frozen=True)
class MediaFact:
    received_at: datetime
    seconds_to_notify: int | None
    seconds_to_acknowledge: int | None
    #: Who spoke, as recorded, and who the routing named.
    spoke: str | None
    spokesperson: str | None
    #: Press releases released about the case's review before it was published.
    early_press_releases: int


@dataclass
class Facts:
    cases: list[CaseFact]
    requests: list[RequestFact]
    media: list[MediaFact]


def load_facts(session: Session, core: Core) -> Facts:
    cases: dict[int, CaseFact] = {}
    since = dict(session.exec(
        select(Event.case_id, func.max(Event.at)).where(Event.kind == "stage_changed")
        .group_by(col(Event.case_id))
    ).all())
    # Children's cases only: SARs and complaints are cases of their own kinds (decision 0028) and
    # are not what this report (seed 002, process.md 9) counts.
    for case in session.exec(select(Case).where(Case.kind == "child").order_by(col(Case.id))):
        assert case.id is not None
        cases[case.id] = CaseFact(
            id=case.id, stage=case.stage, created_at=case.created_at, la_aware_date=case.la_aware_date,
            decision=case.decision, decision_at=case.decision_at,
            stage_since=since.get(case.id) or case.created_at,
        )
    for d in session.exec(
        select(Deadline).where(col(Deadline.kind).in_(CLOCK_KINDS), col(Deadline.request_id).is_(None))
        .order_by(col(Deadline.id))
    ):
        if d.case_id in cases:
            cases[d.case_id].clocks.append(ClockFact(d.kind, d.anchor_at, d.due_at, d.met_at, d.cancelled_at))
    for pub in session.exec(select(Publication)):
        if pub.case_id in cases:
            cases[pub.case_id].embargo_reason = pub.embargo_reason
            cases[pub.case_id].published_at = pub.published_at
    for tag in session.exec(select(CaseTag)):
        if tag.case_id in cases:
            if tag.kind == THEME:
                cases[tag.case_id].themes.add(tag.value)
            else:
                cases[tag.case_id].outcomes[tag.kind] = tag.value
    requests = [
        RequestFact(r.agency, r.kind, r.sent_at, r.due_at, r.returned_at, r.status, r.chases)
        for r in session.exec(select(AgencyRequest).order_by(col(AgencyRequest.id))) if r.case_id in cases
    ]
    return Facts(list(cases.values()), requests, _media(session, core, cases))


def _media(session: Session, core: Core, cases: dict[int, CaseFact]) -> list[MediaFact]:
    """Each enquiry's timings (bot.media_report) and the press releases about its case's review
    released before publication (media protocol M-5: none until the review is published)."""
    early: dict[int, int] = defaultdict(int)
    for statement, enquiry in session.exec(
        select(MediaStatement, MediaEnquiry).where(
            MediaStatement.enquiry_id == MediaEnquiry.id, MediaStatement.status == "released",
            MediaStatement.kind == "press_release", col(MediaEnquiry.case_id).is_not(None))
    ):
        fact = cases.get(enquiry.case_id or 0)
        if fact is None or statement.released_at is None:
            continue
        if fact.published_at is None or statement.released_at < fact.published_at:
            assert enquiry.id is not None
            early[enquiry.id] += 1
    by_ref = {e.ref: e.id for e in session.exec(select(MediaEnquiry))}
    found: list[MediaFact] = []
    for row in media_report(session, core):
        routing: dict[str, Any] = row["routing"]
        spokesperson = (routing.get("spokesperson") or {}).get("role")
        found.append(MediaFact(
            received_at=datetime.fromisoformat(row["received_at"]),
            seconds_to_notify=row["seconds_to_notify"], seconds_to_acknowledge=row["seconds_to_acknowledge"],
            spoke=row["spoke"], spokesperson=spokesperson,
            early_press_releases=early.get(by_ref.get(row["ref"]) or 0, 0),
        ))
    return found
