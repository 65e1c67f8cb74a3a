"""The partnership's report (issue 14): Sandwell's scrutiny report (seed 002) rebuilt from the
bot's own data, by financial year (April to March, seed 002 l.135-160's Table 1), with the panels
of process.md 9.2 the data supports.

Pure computation over :class:`bot.report_facts.Facts`: no I/O, no clock (``now`` is given).
Each measure belongs to one financial year by one date, said in its table: a clock by the day it
fell due, a decision by the day it was made, a request by its due day, an enquiry by its arrival.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any

from bot.calendar import Calendar
from bot.report_facts import CaseFact, ClockFact, Facts
from bot.report_panels import (
    ActionFact,
    actions_section,
    agency_section,
    media_section,
    pipeline_section,
    themes_section,
)
from bot.report_statuses import statuses_table
from bot.report_tables import (
    Chart,
    Count,
    Median,
    Report,
    Section,
    Share,
    Table,
    suppress_table,
    suppressed_cells,
)
from bot.stages import DECISIONS, Stage

ALL_YEARS = "All years"


def financial_year(d: date) -> str:
    """'2023-24' for any day from 1 April 2023 to 31 March 2024."""
    start = d.year if d.month >= 4 else d.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def years_between(start: date, end: date) -> tuple[str, ...]:
    first = start.year if start.month >= 4 else start.year - 1
    last = end.year if end.month >= 4 else end.year - 1
    return tuple(financial_year(date(y, 4, 1)) for y in range(first, last + 1))


def fy_start(d: date) -> date:
    return date(d.year if d.month >= 4 else d.year - 1, 4, 1)


@dataclass(frozen=True)
class Scope:
    """The period, its financial years, the calendar and the moment the report is made."""

    start: date
    end: date
    now: datetime
    calendar: Calendar

    @property
    def years(self) -> tuple[str, ...]:
        return years_between(self.start, self.end)

    def year_of(self, at: datetime | date | None) -> str | None:
        """The financial year ``at`` counts in, or None outside the period."""
        if at is None:
            return None
        day = self.calendar.local_date(at) if isinstance(at, datetime) else at
        return financial_year(day) if self.start <= day <= self.end else None


def middle(values: Sequence[float], unit: str, digits: int = 1) -> Median:
    return Median(round(float(median(values)), digits) if values else None, len(values), unit)


# --- statutory timeliness (process.md 9.2 item 1) ----------------------------------------------

#: kind: (title, what it measures). Durations as the presets set them (bot.presets).
CLOCKS = {
    "sin_notification": ("Serious incident notification within 5 working days (D-01)",
                         "from the local authority becoming aware (Working Together 2023, ch. 5)"),
    "rapid_review": ("Rapid review to the National Panel within 15 working days (D-04)",
                     "from the notification (seed 002 l.133)"),
    "lcspr_publication": ("Local review published within 6 months (D-10)",
                          "from the panel's decision (seed 002 l.42, l.167)"),
    "prepublication_notice": ("Pre-publication notice at least 7 working days before (D-11)",
                              "to the National Panel, the Secretary of State and Ofsted"),
}


@dataclass(frozen=True)
class ClockCount:
    due: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    pending: int = 0

    @property
    def share(self) -> Share:
        return Share(self.on_time, self.on_time + self.late + self.overdue)


def clock_state(clock: ClockFact, now: datetime) -> str:
    """on_time | late | overdue (not met, past due) | pending (not met, not yet due)."""
    if clock.met_at is not None:
        return "on_time" if clock.met_at <= clock.due_at else "late"
    return "overdue" if clock.due_at < now else "pending"


def count_clocks(clocks: Iterable[ClockFact], now: datetime) -> ClockCount:
    states = [clock_state(c, now) for c in clocks]
    return ClockCount(len(states), states.count("on_time"), states.count("late"), states.count("overdue"),
                      states.count("pending"))


def live_clocks(scope: Scope, cases: Iterable[CaseFact], kind: str) -> list[tuple[CaseFact, ClockFact]]:
    """Each case's clock of ``kind`` in force (not cancelled), due within the period."""
    found = []
    for case in cases:
        clock = case.clock(kind)
        if clock is not None and clock.cancelled_at is None and scope.year_of(clock.due_at):
            found.append((case, clock))
    return found


def _extra_median(
    scope: Scope, kind: str, pairs: list[tuple[CaseFact, ClockFact]],
) -> tuple[str, Median] | None:
    cal = scope.calendar
    if kind == "sin_notification":
        # The partnership often hears of the incident after the LA (process.md 9.2 item 1).
        lags = [cal.working_days_between(c.la_aware_date, cal.local_date(c.created_at))
                for c, _ in pairs if c.la_aware_date is not None]
        return "Median working days from the LA aware to the partnership informed", middle(
            [max(lag, 0) for lag in lags], "working days")
    if kind == "rapid_review":
        took = [cal.working_days_between(cal.local_date(k.anchor_at), cal.local_date(k.met_at))
                for _, k in pairs if k.met_at is not None]
        return "Median working days from the notification to the decision", middle(took, "working days")
    if kind == "lcspr_publication":
        months = [(k.met_at - k.anchor_at).days / 30.4375 for _, k in pairs if k.met_at is not None]
        return "Median months from the decision to publication", middle(months, "months")
    return None


def clock_table(scope: Scope, facts: Facts, kind: str) -> Table:
    title, anchor = CLOCKS[kind]
    pairs = live_clocks(scope, facts.cases, kind)
    per_year = {y: [(c, k) for c, k in pairs if scope.year_of(k.due_at) == y] for y in scope.years}
    columns = [*per_year.values(), pairs]
    counts = [count_clocks((k for _, k in col), scope.now) for col in columns]
    rows: list[tuple[Count | Share | Median | str, ...]] = [
        ("Due in the year", *(Count(c.due) for c in counts)),
        ("Met on time", *(Count(c.on_time) for c in counts)),
        ("Met late", *(Count(c.late) for c in counts)),
        ("Not met and overdue", *(Count(c.overdue) for c in counts)),
        ("Not yet due", *(Count(c.pending) for c in counts)),
        ("On time (of those met or overdue)", *(c.share for c in counts)),
    ]
    for i, col in enumerate(columns):
        extra = _extra_median(scope, kind, col)
        if extra is None:
            break
        if i == 0:
            rows.append((extra[0],))
        rows[-1] = (*rows[-1], extra[1])
    return Table(f"clock_{kind}", title, ("Measure", *scope.years, ALL_YEARS), tuple(rows),
                 total_col=len(scope.years) + 1, row_sum=(0, (1, 2, 3, 4)),
                 note=f"Counted in the financial year the clock fell due; measured {anchor}.")


def timeliness_summary(scope: Scope, facts: Facts) -> Table:
    kinds = list(CLOCKS)
    rows = []
    for year in (*scope.years, ALL_YEARS):
        cells = []
        for kind in kinds:
            clocks = [k for _, k in live_clocks(scope, facts.cases, kind)
                      if year == ALL_YEARS or scope.year_of(k.due_at) == year]
            cells.append(count_clocks(clocks, scope.now).share)
        rows.append((year, *cells))
    return Table("timeliness_summary", "Statutory clocks met on time, by financial year",
                 ("Financial year", "Notification (D-01)", "Rapid review (D-04)", "Publication (D-10)",
                  "Pre-publication notice (D-11)"), tuple(rows), total_row=True,
                 chart=Chart(series=(1, 2, 3, 4), ylabel="% on time", measure="percent"))


#: Why a local review was not published within 6 months (seed 002 l.42: criminal and/or coroner's
#: investigations); the bot knows the proceedings a publication was delayed for (bot.publication).
BREACH_REASONS = {"criminal": "Criminal proceedings", "coroner": "Coroner's inquest",
                  None: "Other, or no delay recorded"}


def breach_table(scope: Scope, facts: Facts) -> Table:
    pairs = [(c, k) for c, k in live_clocks(scope, facts.cases, "lcspr_publication")
             if clock_state(k, scope.now) in ("late", "overdue")]
    rows: list[tuple[Any, ...]] = []
    for reason, label in BREACH_REASONS.items():
        mine = [k for c, k in pairs if (c.embargo_reason if c.embargo_reason in BREACH_REASONS else None)
                == reason]
        rows.append((label, *(Count(sum(1 for k in mine if scope.year_of(k.due_at) == y))
                              for y in scope.years), Count(len(mine))))
    rows.append(("All breaches", *(Count(sum(r[i].n for r in rows)) for i in range(1, len(scope.years) + 2))))
    return Table("publication_breaches", "Local reviews not published within 6 months, by reason",
                 ("Reason", *scope.years, ALL_YEARS), tuple(rows), total_row=True,
                 total_col=len(scope.years) + 1,
                 note="Published late, or past the 6 months and not yet published; the reason is the "
                      "proceedings publication was delayed for.")


# --- decisions and the National Panel (process.md 9.2 item 4; seed 002 Table 1) ---------------

DECISION_GROUPS = {
    "National review": {"national-review"},
    "Local review (LCSPR)": {"lcspr"},
    "Alternative learning": {o for o, s in DECISIONS.items() if s is Stage.ALTERNATIVE_LEARNING},
    "No further review": {"no-further-review"},
}


def decided(scope: Scope, facts: Facts) -> list[tuple[str, CaseFact]]:
    """(financial year, case) for every rapid review decided in the period (RR3)."""
    return [(y, c) for c in facts.cases if c.decision and (y := scope.year_of(c.decision_at))]


def table_one(scope: Scope, facts: Facts) -> Table:
    pairs = decided(scope, facts)
    rows = []
    for year in (*scope.years, ALL_YEARS):
        mine = [c for y, c in pairs if year in (y, ALL_YEARS)]
        lcspr = sum(1 for c in mine if c.decision == "lcspr")
        rows.append((year, Count(len(mine)), Count(lcspr), Share(lcspr, len(mine))))
    return Table("rapid_reviews", "Rapid reviews and those resulting in a local review",
                 ("Financial year", "Rapid reviews", "Resulting in a local review", "Share resulting"),
                 tuple(rows), total_row=True, chart=Chart(series=(1, 2), ylabel="Cases"),
                 note="A rapid review counts in the year of the panel's decision (RR3), as seed 002's "
                      "Table 1 (l.137-160).")


def decisions_table(scope: Scope, facts: Facts) -> Table:
    pairs = decided(scope, facts)
    rows = [(label, *(Count(sum(1 for y, c in pairs if y == year and c.decision in options))
                      for year in scope.years), Count(sum(1 for _, c in pairs if c.decision in options)))
            for label, options in DECISION_GROUPS.items()]
    rows.append(("All rapid reviews", *(Count(sum(1 for y, _ in pairs if y == year)) for year in scope.years),
                 Count(len(pairs))))
    return Table("decisions", "The panel's decisions", ("Decision", *scope.years, ALL_YEARS), tuple(rows),
                 total_row=True, total_col=len(scope.years) + 1)


def concurrence_table(scope: Scope, facts: Facts) -> Table:
    pairs = decided(scope, facts)
    rows = []
    for year in (*scope.years, ALL_YEARS):
        mine = [c for y, c in pairs if year in (y, ALL_YEARS)]
        agrees = sum(1 for c in mine if c.outcomes.get("panel") == "agrees")
        disagrees = sum(1 for c in mine if c.outcomes.get("panel") == "disagrees")
        rows.append((year, Count(len(mine)), Count(agrees + disagrees), Count(agrees), Count(disagrees),
                     Share(agrees, agrees + disagrees)))
    return Table("concurrence", "The National Panel's concurrence with the panel's decision",
                 ("Financial year", "Rapid reviews", "Panel replies recorded", "Agrees", "Disagrees",
                  "Concurrence"), tuple(rows), total_row=True,
                 note="Concurrence is of the replies recorded ('review-bot case REF outcome --panel'); seed "
                      "002 l.41 reports 18 of 20.")


# --- the whole report -----------------------------------------------------------------------


def build_report(
    facts: Facts, *, scope: Scope, partnership: str, themes: dict[str, str],
    media_targets: tuple[timedelta, timedelta], agency_names: dict[str, str],
    actions: Sequence[ActionFact] | None = None, shared: bool = False, suppress_below: int = 5,
) -> Report:
    """Every panel; ``shared``: for outside the partnership, small cells suppressed."""
    statuses, reconciliation, reconciled = statuses_table(scope, facts)
    sections = [
        Section("timeliness", "Statutory timeliness",
                "Each statutory clock, on time and late, with the lag before the partnership hears of an "
                "incident.", (timeliness_summary(scope, facts),
                              *(clock_table(scope, facts, k) for k in CLOCKS), breach_table(scope, facts))),
        Section("decisions", "Rapid reviews, decisions and the National Panel",
                "How many rapid reviews led to a local review, the decisions and the Panel's concurrence.",
                (table_one(scope, facts), decisions_table(scope, facts), concurrence_table(scope, facts))),
        Section("reviews", "Local reviews by status",
                "Every local review has exactly one status, so the statuses add up to the reviews decided.",
                (statuses,)),
        pipeline_section(scope, facts),
        agency_section(scope, facts, agency_names),
        media_section(scope, facts, *media_targets),
        themes_section(scope, facts, themes),
        actions_section(actions, scope.now),
    ]
    report = Report(partnership=partnership, period_from=scope.start.isoformat(),
                    period_to=scope.end.isoformat(), generated_at=scope.now.isoformat(timespec="minutes"),
                    years=scope.years, shared=shared, suppress_below=suppress_below,
                    statements=[reconciled if shared else reconciliation])
    if shared:
        sections = [_suppressed(s, suppress_below) for s in sections]
        hidden = sum(suppressed_cells(t) for s in sections for t in s.tables)
        report.statements.append(
            f"Shared outside the partnership: counts from 1 to {suppress_below - 1} are shown as "
            f"'<{suppress_below}', and shares, medians and totals that would reveal them are suppressed "
            f"({hidden} cells; process.md 8.4 item 9).")
    report.sections = sections
    return report


def _suppressed(section: Section, below: int) -> Section:
    return Section(section.key, section.title, section.intro,
                   tuple(suppress_table(t, below) for t in section.tables))

