"""A generated history for the report's tests (issue 14): cases over three financial years, built
through the core's own services with the clock set at each step, and the figures the report
should show, computed HERE from the plan (never from the report's code).

Every case is referred in June or July, decided in July or August, and its publication clock
(6 months) falls due before the next April, so each case's clocks all count in one financial year.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from bot import agency_requests, cases, media, publication, report_tags
from bot.cases import Referral
from bot.chasers import chase_overdue
from bot.clock import FixedClock
from bot.core import Core
from bot.models import AgencyRequest, MediaStatement

#: A word no report may ever show (a child's name would be typed where this is).
CANARY = "Zebedee-Quaxworth"
YEARS = {2023: "2023-24", 2024: "2024-25", 2025: "2025-26"}
#: When the report is made: after every clock above has fallen due.
REPORT_NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Plan:
    year: int  # the financial year's first calendar year
    n: int  # its place in the year (spreads the dates)
    sin_late: bool = False
    rr_late: bool = False
    decision: str = "lcspr"
    panel: str | None = "agrees"
    #: published | published_late | learning_only | embargoed | in_progress | pre_publication | not_published
    end: str = "published"
    notice_late: bool = False
    themes: tuple[str, ...] = ()
    late_return: bool = False


def plans() -> list[Plan]:
    """2023-24: 4 rapid reviews, 3 local reviews; 2024-25: 8 and 5; 2025-26: 3 and 2 (Sandwell's
    Table 1 for its first, second and last years, seed 002 l.137-160)."""
    return [
        Plan(2023, 0, themes=("neglect", "under-1s", "information-sharing")),
        Plan(2023, 1, sin_late=True, end="published_late", themes=("neglect", "information-sharing")),
        Plan(2023, 2, rr_late=True, end="learning_only", notice_late=True, themes=("domestic-abuse",),
             late_return=True),
        Plan(2023, 3, decision="no-further-review", panel="disagrees"),
        Plan(2024, 0, themes=("information-sharing", "neglect", "parental-mental-health")),
        Plan(2024, 1, end="embargoed", themes=("information-sharing", "substance-misuse")),
        Plan(2024, 2, sin_late=True, end="not_published", themes=("information-sharing",)),
        Plan(2024, 3, end="published_late", panel=None, themes=("information-sharing", "under-1s")),
        Plan(2024, 4, rr_late=True, end="in_progress", themes=("information-sharing", "neglect"),
             late_return=True),
        Plan(2024, 5, decision="audit"),
        Plan(2024, 6, decision="no-further-review", panel="disagrees"),
        Plan(2024, 7, decision="national-review"),
        Plan(2025, 0, end="pre_publication", themes=("information-sharing", "black-minoritised")),
        Plan(2025, 1, sin_late=True, end="embargoed", themes=("information-sharing",)),
        Plan(2025, 2, decision="reflective-session", panel=None),
    ]


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)  # GMT/BST: the clock is UTC


def _weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@dataclass
class Built:
    refs: list[str] = field(default_factory=list)


def build(core: Core, clock: FixedClock) -> Built:
    built = Built()
    for plan in plans():
        built.refs.append(add_case(core, clock, plan))
    clock.set(REPORT_NOW)
    return built


def add_case(core: Core, clock: FixedClock, plan: Plan) -> str:
    actor = f"bm-{CANARY}@partnership.example"
    aware = _weekday(date(plan.year, 6, 1) + timedelta(days=3 * plan.n))
    referred = _weekday(aware + timedelta(days=2))  # the partnership hears 2 days later (or more)
    clock.set(_at(referred))
    with core.transaction() as s:
        case = cases.open_case(s, core, Referral(
            referring_agency="la-csc", incident_date=aware - timedelta(days=1), la_aware_date=aware,
            outcome="death", abuse_neglect="yes", legal_status="cp-plan", agencies_involved=["police", "icb"],
        ), actor=actor, source="cli")
        cases.accept(s, core, case, actor=actor)
        ref = case.ref
    # On time: the day after the partnership hears; late: 3 weeks after the LA was aware.
    sin_at = _at(aware + timedelta(days=21) if plan.sin_late else _weekday(referred + timedelta(days=1)))
    clock.set(sin_at)
    with core.transaction() as s:
        case = cases.get_case(s, ref)
        cases.record_sin_submitted(s, core, case, at=sin_at, actor=actor)
        agency_requests.send_requests(s, core, case, kind="info-gathering", agencies=["police", "icb"],
                                      actor=actor)
    clock.set(sin_at + timedelta(hours=30))
    _returned(core, ref, "police", sin_at + timedelta(hours=30))
    if plan.late_return:
        clock.set(sin_at + timedelta(days=4))
        chase_overdue(core)
    icb_at = sin_at + timedelta(days=4 if plan.late_return else 1)
    clock.set(icb_at)
    _returned(core, ref, "icb", icb_at)
    decided = sin_at + timedelta(days=40 if plan.rr_late else 7)
    clock.set(decided)
    with core.transaction() as s:
        case = cases.get_case(s, ref)
        cases.decide(s, core, case, option=plan.decision, rationale=f"rationale about {CANARY}",
                     actor=actor, at=decided)
        if plan.panel:
            report_tags.set_outcome(s, core, case, "panel", plan.panel, actor=actor)
        report_tags.set_themes(s, core, case, add=plan.themes, actor=actor)
    if plan.decision == "lcspr":
        _review(core, clock, plan, ref, decided, actor)
    return ref


def _returned(core: Core, ref: str, agency: str, at: datetime) -> None:
    with core.transaction() as s:
        case = cases.get_case(s, ref)
        request = agency_requests.get_request(s, case, agency, "info-gathering")
        agency_requests.record_return(s, core, request, actor="clerk@partnership.example", via="email", at=at)


def _review(core: Core, clock: FixedClock, plan: Plan, ref: str, decided: datetime, actor: str) -> None:
    end = plan.end
    if end == "in_progress":
        return
    if end == "not_published":
        clock.set(decided + timedelta(days=60))
        with core.transaction() as s:
            case = cases.get_case(s, ref)
            report_tags.set_outcome(s, core, case, "publication", "not-published", actor=actor)
            cases.close(s, core, case, reason=f"closed; {CANARY}", actor=actor)
        return
    if end in ("embargoed", "published_late"):
        clock.set(decided + timedelta(days=90))
        with core.transaction() as s:
            publication.embargo(s, core, cases.get_case(s, ref), reason="coroner", actor=actor)
        if end == "embargoed":
            return
    # Published on time: the date set at 100 days for 128 days; late: set at 200 days for 228.
    set_at = decided + timedelta(days=200 if end == "published_late" else 100)
    clock.set(set_at)
    pub_day = _weekday((set_at + timedelta(days=28)).date())
    with core.transaction() as s:
        publication.set_publication_date(s, core, cases.get_case(s, ref), pub_day, actor=actor)
    # The notice: the same day (on time), or 3 weeks later (late: due 7 working days before).
    notice_at = set_at + timedelta(days=21 if plan.notice_late else 0)
    clock.set(notice_at)
    with core.transaction() as s:
        publication.notice_sent(s, core, cases.get_case(s, ref), actor=actor, at=notice_at)
    if end == "pre_publication":
        return
    clock.set(_at(pub_day))
    with core.transaction() as s:
        case = cases.get_case(s, ref)
        publication.publish(s, core, case, actor=actor, at=_at(pub_day))
        if end == "learning_only":
            report_tags.set_outcome(s, core, case, "publication", "learning-only", actor=actor)


def media_history(core: Core, clock: FixedClock, embargoed_ref: str) -> None:
    """Two enquiries in 2024-25: one acknowledged in 5 minutes, one in 40; one in 2025-26. The
    second is about a review still embargoed, and a press release about it went out (written as
    the row the statements flow leaves: media protocol M-5 broken once)."""
    for received, after in ((datetime(2024, 9, 2, 10, tzinfo=UTC), 5),
                            (datetime(2024, 10, 7, 10, tzinfo=UTC), 40),
                            (datetime(2025, 11, 3, 10, tzinfo=UTC), 3)):
        clock.set(received)
        with core.transaction() as s:
            enquiry = media.receive_enquiry(s, core, media.EnquiryInput(
                outlet="Evening Post", subject="partnership", journalist=f"Reporter {CANARY}",
                summary=f"asks about {CANARY}"), actor="cli:press", source="cli")
            eid = enquiry.id
            if after == 40:
                enquiry.case_id = cases.get_case(s, embargoed_ref).id
                s.add(MediaStatement(enquiry_id=eid, version=1, kind="press_release", text=f"about {CANARY}",
                                     status="released", drafted_by="cli:press", drafted_at=received,
                                     released_at=received + timedelta(hours=2)))
        clock.set(received + timedelta(minutes=after))
        with core.transaction() as s:
            found = s.get(media.MediaEnquiry, eid)
            assert found is not None
            media.acknowledge(s, core, found, actor="cli:press", team_member=True)
    clock.set(REPORT_NOW)


# --- the figures, from the plan ---------------------------------------------------------------


def expected() -> dict[str, object]:
    ps = plans()
    by_year = {y: [p for p in ps if p.year == y] for y in YEARS}
    lcspr = {y: [p for p in by_year[y] if p.decision == "lcspr"] for y in YEARS}
    status_of = {"published": "published_full", "published_late": "published_full",
                 "learning_only": "published_learning_only", "embargoed": "embargoed",
                 "in_progress": "commissioned", "pre_publication": "pre_publication",
                 "not_published": "not_published"}
    themes = Counter(t for p in ps if p.decision == "lcspr" for t in p.themes)
    published = ("published", "published_late", "learning_only", "pre_publication")  # a notice recorded
    return {
        "rapid_reviews": {YEARS[y]: (len(by_year[y]), len(lcspr[y])) for y in YEARS},
        "sin": {YEARS[y]: (sum(not p.sin_late for p in by_year[y]), sum(p.sin_late for p in by_year[y]))
                for y in YEARS},
        "rr": {YEARS[y]: (sum(not p.rr_late for p in by_year[y]), sum(p.rr_late for p in by_year[y]))
               for y in YEARS},
        # on time, late, overdue (not met; closed reviews' clocks are cancelled, so not counted)
        "publication": {YEARS[y]: (sum(p.end in ("published", "learning_only") for p in lcspr[y]),
                                   sum(p.end == "published_late" for p in lcspr[y]),
                                   sum(p.end in ("embargoed", "in_progress", "pre_publication")
                                       for p in lcspr[y])) for y in YEARS},
        "notice": {YEARS[y]: (sum(p.end in published and not p.notice_late for p in lcspr[y]),
                              sum(p.end in published and p.notice_late for p in lcspr[y])) for y in YEARS},
        "statuses": Counter(status_of[p.end] for p in ps if p.decision == "lcspr"),
        "lcspr_total": sum(len(v) for v in lcspr.values()),
        "concurrence": {YEARS[y]: (sum(p.panel == "agrees" for p in by_year[y]),
                                   sum(p.panel is not None for p in by_year[y])) for y in YEARS},
        "themes": dict(themes),
        "breaches": {"coroner": sum(p.end in ("published_late", "embargoed") for p in ps),
                     "other": sum(p.end in ("in_progress", "pre_publication") for p in ps)},
        # police returns in 30 hours (on time: 48 hours), icb's in 1 day or, late, 4 days
        "igt": {"police": (len(ps), len(ps)), "icb": (sum(not p.late_return for p in ps), len(ps))},
    }


def chases_in(core: Core) -> int:
    with core.db.session() as s:
        return sum(r.chases for r in s.exec(select(AgencyRequest)))
