"""The report's other panels (process.md 9.2 items 2, 3, 5, 6 and 7): the pipeline with ageing,
agency responsiveness, media, themes and actions. Pure computation, like bot.report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.action_plan import RESOLVED
from bot.report_facts import Facts, RequestFact
from bot.report_tables import Chart, Count, Median, Section, Share, Table
from bot.stages import CLOSED_STAGES, LABELS, Stage

if TYPE_CHECKING:
    from bot.report import Scope


def _middle(values: Sequence[float], unit: str) -> Median:
    from bot.report import middle

    return middle(values, unit)


# --- pipeline (9.2 item 2) ------------------------------------------------------------------

#: Days in the current stage, in bands.
AGE_BANDS = (("Under 30 days", 0, 30), ("30 to 90 days", 30, 90), ("Over 90 days", 90, None))


def pipeline_section(scope: Scope, facts: Facts) -> Section:
    open_cases = [c for c in facts.cases if c.stage not in CLOSED_STAGES]
    rows = []
    for stage in Stage:
        mine = [(scope.now - c.stage_since).total_seconds() / 86400 for c in open_cases if c.stage == stage]
        if not mine:
            continue
        bands = [Count(sum(1 for d in mine if lo <= d and (hi is None or d < hi))) for _, lo, hi in AGE_BANDS]
        rows.append((LABELS[stage], *bands, Count(len(mine)), _middle(mine, "days")))
    ages = [(scope.now - c.stage_since).total_seconds() / 86400 for c in open_cases]
    rows.append(("All open cases", *(Count(sum(1 for d in ages if lo <= d and (hi is None or d < hi)))
                                     for _, lo, hi in AGE_BANDS), Count(len(ages)), _middle(ages, "days")))
    table = Table("pipeline", "Open cases by stage, with the time in their stage",
                  ("Stage", *(b[0] for b in AGE_BANDS), "Cases", "Median time in stage"), tuple(rows),
                  total_row=True, total_col=4, chart=Chart(series=(1, 2, 3), ylabel="Cases"),
                  note=f"As at {scope.now:%d %B %Y}, whatever the period.")
    return Section("pipeline", "Pipeline", "Where the open cases are and how long they have been there.",
                   (table,))


# --- agency responsiveness (9.2 item 3) -----------------------------------------------------


def _state(r: RequestFact, now: datetime) -> str | None:
    """on_time | late | None (withdrawn, or not yet due and not returned)."""
    if r.returned_at is not None:
        return "on_time" if r.returned_at <= r.due_at else "late"
    if r.status == "sent" and r.due_at < now:
        return "late"
    return None


def agency_section(scope: Scope, facts: Facts, names: dict[str, str]) -> Section:
    mine = [r for r in facts.requests if scope.year_of(r.due_at)]
    agencies = sorted({r.agency for r in mine}, key=lambda a: names.get(a, a))
    rows = []
    for agency in [*agencies, None]:
        reqs = [r for r in mine if agency is None or r.agency == agency]
        cells: list[Count | Share | Median | str] = [names.get(agency, agency) if agency else "All agencies"]
        for kind in ("info-gathering", "chronology"):
            states = [_state(r, scope.now) for r in reqs if r.kind == kind]
            judged = [s for s in states if s is not None]
            cells += [Count(len(judged)), Share(judged.count("on_time"), len(judged))]
        late = [((r.returned_at or scope.now) - r.due_at).total_seconds() / 3600
                for r in reqs if _state(r, scope.now) == "late"]
        cells += [Count(sum(r.chases for r in reqs)), Count(len(late)), _middle(late, "hours")]
        rows.append(tuple(cells))
    table = Table("agencies", "Agency returns on time, chases and lateness",
                  ("Agency", "Information gathering due", "On time", "Chronologies due", "On time",
                   "Chases sent", "Late returns", "Median lateness"), tuple(rows), total_row=True,
                  chart=Chart(series=(2, 4), ylabel="% on time", measure="percent"),
                  note="Requests due in the period; a return still outstanding after its due time is late "
                       "(its lateness runs to the report date); withdrawn requests are left out.")
    return Section("agencies", "Agency responsiveness",
                   "Information gathering (48 hours) and chronology (14 days) returns by agency.", (table,))


# --- media (9.2 item 7) ---------------------------------------------------------------------


def media_section(
    scope: Scope, facts: Facts, notify_within: timedelta, acknowledge_within: timedelta,
) -> Section:
    from bot.report import ALL_YEARS

    rows = []
    for year in (*scope.years, ALL_YEARS):
        mine = [m for m in facts.media if (y := scope.year_of(m.received_at)) and year in (y, ALL_YEARS)]
        told = [m.seconds_to_notify for m in mine if m.seconds_to_notify is not None]
        acked = [m.seconds_to_acknowledge for m in mine if m.seconds_to_acknowledge is not None]
        spoke = [m for m in mine if m.spoke]
        rows.append((
            year, Count(len(mine)),
            Share(sum(1 for s in told if s <= notify_within.total_seconds()), len(mine)),
            _middle([s / 60 for s in told], "minutes"),
            Share(sum(1 for s in acked if s <= acknowledge_within.total_seconds()), len(mine)),
            _middle([s / 60 for s in acked], "minutes"),
            Share(sum(1 for m in spoke if m.spoke == m.spokesperson), len(spoke)),
            Count(sum(m.early_press_releases for m in mine)),
        ))
    table = Table("media", "Media enquiries: telling the press office, acknowledging, who spoke",
                  ("Financial year", "Enquiries", "Press office told in time", "Median time to tell",
                   "Acknowledged in time", "Median time to acknowledge", "Spokesperson as the protocol says",
                   "Press releases before publication"), tuple(rows), total_row=True,
                  note=f"Targets: told within {_minutes(notify_within)}, acknowledged within "
                       f"{_minutes(acknowledge_within)}; a press release about a review waits for its "
                       "publication (media protocol M-5), so the last column should be 0.")
    return Section("media", "Media", "Enquiries by the year they arrived.", (table,))


def _minutes(d: timedelta) -> str:
    return f"{int(d.total_seconds() // 60)} minutes"


# --- themes (9.2 item 5; seed 002 l.172-183) --------------------------------------------------


def themes_section(scope: Scope, facts: Facts, themes: dict[str, str]) -> Section:
    from bot.report import ALL_YEARS

    reviews = [(y, c) for c in facts.cases if c.decision == "lcspr" and (y := scope.year_of(c.decision_at))]
    columns = [[c for y, c in reviews if y == year] for year in scope.years] + [[c for _, c in reviews]]
    rows = [(label, *(Share(sum(1 for c in col if key in c.themes), len(col)) for col in columns))
            for key, label in themes.items()]
    table = Table("themes", "Emerging themes: local reviews with the theme, of those decided",
                  ("Theme", *scope.years, ALL_YEARS), tuple(rows), total_col=len(columns),
                  chart=Chart(series=(len(columns),), ylabel="% of local reviews", measure="percent"),
                  note="A review may have several themes (tagged with 'review-bot case REF themes add'); "
                       "as seed 002's table (l.172-183).")
    return Section("themes", "Themes", "The themes of the local reviews decided in each year.", (table,))


# --- actions (9.2 item 6) --------------------------------------------------------------------


@dataclass(frozen=True)
class ActionFact:
    """One action of a review's action plan, as the action plan (bot.action_plan) holds it."""

    #: one of bot.action_plan.STATUSES
    status: str
    due_at: datetime | None
    verified_at: datetime | None
    #: Escalated to the partnership as a larger piece of work (KIR l.276).
    larger: bool
    #: When the action's review was published (None: not yet).
    published_at: datetime | None


#: Every status of bot.action_plan.STATUSES, so the rows always add up to the total.
ACTION_STATUSES = {"open": "Open", "in_progress": "In progress",
                   "evidence_submitted": "Evidence submitted, awaiting verification",
                   "verified": "Verified", "not_achieved": "Closed: not achieved",
                   "superseded": "Closed: superseded"}
#: Actions should be achieved 12 weeks after publication (KIR l.276; D-14).
TWELVE_WEEKS = timedelta(weeks=12)


def actions_section(actions: Sequence[ActionFact] | None, now: datetime) -> Section:
    intro = "Actions arising from the reviews: their status, what is overdue and verified."
    if actions is None:
        return Section("actions", "Actions",
                       "No action data: the action plan is not yet recorded in the bot.", ())
    done = RESOLVED
    rows: list[tuple[str, Count | Share]] = [
        (label, Count(sum(1 for a in actions if a.status == key))) for key, label in ACTION_STATUSES.items()]
    rows.append(("All actions", Count(len(actions))))
    published = [a for a in actions if a.published_at is not None]
    within = sum(1 for a in published if a.verified_at is not None and a.published_at is not None
                 and a.verified_at <= a.published_at + TWELVE_WEEKS)
    extra = Table("actions_measures", "Actions overdue, larger pieces of work, within 12 weeks",
                  ("Measure", "Actions"), (
        ("Overdue (past due, not verified or closed)",
         Count(sum(1 for a in actions if a.status not in done and a.due_at is not None and a.due_at < now))),
        ("Escalated as larger pieces of work", Count(sum(1 for a in actions if a.larger))),
        ("Verified within 12 weeks of publication", Share(within, len(published))),
    ), note="Of the actions of published reviews (KIR l.276: achieved within 12 weeks).")
    table = Table("actions", "Actions by status", ("Status", "Actions"), tuple(rows), total_row=True)
    return Section("actions", "Actions", intro, (table, extra))
