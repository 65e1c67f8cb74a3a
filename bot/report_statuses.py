"""Local reviews by status, from an exhaustive list so the totals reconcile (issue 14).

Seed 002 l.42 reports 6 of 13 local reviews published, 3 embargoed and 3 in progress: 12, not 13
(process.md 9.1, "Reconciliation flag"). Here every local review decided gets exactly one status
from process.md 9.1's list, each column's statuses add up to its total, and the report says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.report_facts import CaseFact, Facts
from bot.report_tables import Count, Table
from bot.stages import AFTER_PUBLICATION, CLOSED_STAGES, Stage

if TYPE_CHECKING:
    from bot.report import Scope

#: process.md 9.1: the exhaustive status list, in the order a review passes through it.
STATUSES = {
    "commissioned": "Commissioned (terms of reference, chronologies)",
    "in_progress": "In progress (composite chronology to endorsement)",
    "final_approved": "Final report approved, publication being planned",
    "embargoed": "Embargoed awaiting parallel proceedings",
    "pre_publication": "Publication date set",
    "published_full": "Published in full",
    "published_learning_only": "Published as learning only",
    "not_published": "Not published",
    "closed": "Closed without publication",
}


def review_status(case: CaseFact) -> str:
    """The one status of a local review (a case whose panel decided ``lcspr``)."""
    publication = case.outcomes.get("publication")
    if publication == "not-published":
        return "not_published"
    if case.published_at is not None or case.stage in AFTER_PUBLICATION:
        return "published_learning_only" if publication == "learning-only" else "published_full"
    if case.stage in CLOSED_STAGES:
        return "closed"
    return {Stage.EMBARGOED: "embargoed", Stage.PRE_PUBLICATION: "pre_publication",
            Stage.FINAL_APPROVED: "final_approved", Stage.LCSPR: "commissioned"}.get(
        Stage(case.stage), "in_progress")


def statuses_table(scope: Scope, facts: Facts) -> tuple[Table, str, str]:
    """The table, the reconciliation stated with its figures (internal) and without (shared)."""
    from bot.report import ALL_YEARS

    reviews = [(y, c) for c in facts.cases if c.decision == "lcspr" and (y := scope.year_of(c.decision_at))]
    status = {c.id: review_status(c) for _, c in reviews}
    columns = [[c for y, c in reviews if y == year] for year in scope.years] + [[c for _, c in reviews]]
    rows: list[tuple[Any, ...]] = [
        (label, *(Count(sum(1 for c in col if status[c.id] == key)) for col in columns))
        for key, label in STATUSES.items()]
    totals = [len(col) for col in columns]
    rows.append(("All local reviews decided", *(Count(n) for n in totals)))
    table = Table("review_statuses", "Local reviews by status", ("Status", *scope.years, ALL_YEARS),
                  tuple(rows), total_row=True, total_col=len(scope.years) + 1,
                  note="A review counts in the year of the decision to hold it; its status is as at the "
                       "report date.")
    sums = [sum(r[i + 1].n for r in rows[:-1]) for i in range(len(columns))]
    assert sums == totals, "a local review without exactly one status"
    whole = [(STATUSES[k], n) for k in STATUSES if (n := sum(1 for s in status.values() if s == k))]
    said = " + ".join(f"{n} {label.split(' (')[0].lower()}" for label, n in whole) or "none"
    full = (f"The local review statuses reconcile: {said} = {totals[-1]} local reviews decided in the "
            "period; every review has exactly one status (process.md 9.1).")
    bare = ("The local review statuses reconcile: every review decided in the period has exactly one "
            "status, and each year's statuses add up to its total (checked on the full counts).")
    return table, full, bare
