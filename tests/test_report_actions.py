"""The report's actions panel from the action plan's own rows (issues 12 and 14): an action plan
recorded through the CLI, then `review-bot report --json` counts each status, what is overdue, the
larger pieces of work and what was verified within 12 weeks of publication; never an action's text."""

from __future__ import annotations

import json

from tests.test_action_plan_e2e import QA, TEXT_1, TEXT_2, TEXT_3, at, bot, endorsed_case  # noqa: F401
from tests.test_e2e import Bot


def table(report: dict, key: str) -> dict[str, object]:
    [found] = [t for s in report["sections"] for t in s["tables"] if t["key"] == key]
    return {row[0]: row[1] for row in found["rows"]}


def test_the_actions_panel_counts_the_plan_s_rows(bot: Bot) -> None:  # noqa: F811
    empty = json.loads(at("2025-06-03T10:00", bot, "report", "--json"))
    [actions] = [s for s in empty["sections"] if s["key"] == "actions"]
    assert actions["tables"] == [] and "No action data" in actions["intro"]

    ref = endorsed_case(bot)  # one action (police, recommendation 1) added with the first draft
    at("2025-07-01T10:00", bot, "case", ref, "publication-date", "2025-07-31")
    at("2025-07-01T10:01", bot, "case", ref, "actions", "add", "--agency", "icb", "--text", TEXT_2,
       "--due", "2025-12-01", "--larger")
    at("2025-07-01T10:02", bot, "case", ref, "actions", "add", "--agency", "la-csc", "--text", TEXT_3)
    at("2025-07-31T09:00", bot, "case", ref, "published")
    # Action 1 verified on 10 Oct 2025, inside the 12 weeks (they end on Thu 23 Oct 2025).
    at("2025-10-09T10:00", bot, "case", ref, "actions", "1", "evidence", "--note", "Training records")
    at("2025-10-09T10:01", bot, "case", ref, "actions", "1", "submit")
    at("2025-10-10T10:00", bot, "case", ref, "actions", "1", "verify", actor=QA)
    # Action 3 still open on 1 Nov 2025: past its 23 Oct date. Action 2 (larger) is due in December.
    report = json.loads(at("2025-11-01T10:00", bot, "report", "--json"))

    assert table(report, "actions") == {
        "Open": 2, "In progress": 0, "Evidence submitted, awaiting verification": 0, "Verified": 1,
        "Closed: not achieved": 0, "Closed: superseded": 0, "All actions": 3}
    measures = table(report, "actions_measures")
    assert measures["Overdue (past due, not verified or closed)"] == 1
    assert measures["Escalated as larger pieces of work"] == 1
    assert measures["Verified within 12 weeks of publication"] == {"num": 1, "den": 3, "percent": 33.3}
    shown = json.dumps(report)
    for private in (TEXT_1, TEXT_2, TEXT_3, "Training records", ref):
        assert private not in shown
