"""The report's parts that need no database: suppression for sharing (process.md 8.4 item 9), the
actions panel on rows constructed here (the action plan is another part's), financial years."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot import action_plan
from bot.report import financial_year, years_between
from bot.report_panels import ACTION_STATUSES, ActionFact, actions_section
from bot.report_tables import Count, Median, Share, Table, suppress_table

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)


def texts(table: Table) -> list[list[str]]:
    return [[c if isinstance(c, str) else c.text(5) for c in row] for row in table.rows]


def test_small_counts_and_the_totals_that_would_reveal_them_are_suppressed() -> None:
    table = Table("t", "T", ("Row", "A", "B", "All"), (
        ("a", Count(3), Count(10), Count(13)),
        ("b", Count(6), Count(0), Count(6)),
        ("All", Count(9), Count(10), Count(19)),
    ), total_row=True, total_col=3)
    assert texts(suppress_table(table, 5)) == [
        ["a", "<5", "10", "<5"],  # 13 - 10 would give the 3 back
        ["b", "6", "0", "6"],  # zero describes nobody
        ["All", "<5", "10", "<5"],
    ]


def test_shares_medians_and_a_total_row_that_is_not_the_last() -> None:
    table = Table("t", "T", ("Measure", "Y1", "All"), (
        ("Due", Count(12), Count(12)),
        ("On time", Count(11), Count(11)),
        ("Late", Count(1), Count(1)),
        ("Share", Share(11, 12), Share(11, 12)),
        ("Median", Median(2.0, 3, "days"), Median(2.0, 5, "days")),
    ), row_sum=(0, (1, 2)))
    assert texts(suppress_table(table, 5)) == [
        ["Due", "<5", "<5"], ["On time", "11", "11"], ["Late", "<5", "<5"],
        ["Share", "suppressed", "suppressed"], ["Median", "suppressed", "2 days"],
    ]
    fine = Table("t", "T", ("Measure", "Y1"), (("s", Share(0, 7)), ("t", Share(7, 7)), ("u", Share(0, 0))))
    assert texts(suppress_table(fine, 5)) == [["s", "0/7 (0%)"], ["t", "7/7 (100%)"], ["u", "none"]]
    assert texts(suppress_table(fine, 10)) == [["s", "suppressed"], ["t", "suppressed"], ["u", "none"]]


def test_the_actions_panel_on_constructed_rows() -> None:
    published = NOW - timedelta(weeks=20)
    rows = [
        ActionFact("open", NOW - timedelta(days=1), None, False, published),  # overdue
        ActionFact("in_progress", NOW + timedelta(days=9), None, True, published),
        ActionFact("evidence_submitted", NOW - timedelta(days=3), None, False, None),  # overdue
        ActionFact("verified", NOW - timedelta(days=30), published + timedelta(weeks=10), False, published),
        ActionFact("verified", NOW - timedelta(days=30), published + timedelta(weeks=13), False, published),
        ActionFact("superseded", None, published + timedelta(weeks=2), False, published),
    ]
    section = actions_section(rows, NOW)
    by_status, measures = section.tables
    assert texts(by_status) == [["Open", "1"], ["In progress", "1"],
                                ["Evidence submitted, awaiting verification", "1"], ["Verified", "2"],
                                ["Closed: not achieved", "0"], ["Closed: superseded", "1"],
                                ["All actions", "6"]]
    assert texts(measures) == [["Overdue (past due, not verified or closed)", "2"],
                               ["Escalated as larger pieces of work", "1"],
                               ["Verified within 12 weeks of publication", "2/5 (40%)"]]
    # Every status the action plan knows has its row: the rows always add up to the total.
    assert set(ACTION_STATUSES) == set(action_plan.STATUSES)
    empty = actions_section(None, NOW)
    assert empty.tables == () and "No action data" in empty.intro


def test_financial_years_run_april_to_march() -> None:
    assert financial_year(date(2024, 3, 31)) == "2023-24" and financial_year(date(2024, 4, 1)) == "2024-25"
    assert financial_year(date(1999, 12, 1)) == "1999-00"
    assert years_between(date(2023, 6, 1), date(2025, 4, 1)) == ("2023-24", "2024-25", "2025-26")
