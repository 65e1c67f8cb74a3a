"""The monthly summary (issue 14 item 3): posted in the business unit's Slack channel on the first
working day of the month, once even when two instances tick, with aggregate counts only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.app import create_app
from bot.clock import FixedClock
from bot.models_report import MonthlySummary
from bot.settings import Settings
from tests.conftest import new_case
from tests.support.slack_api import SlackAPI
from tests.support.slack_api import slack_api as slack_api  # the fixture

#: Tuesday 1 December 2026 (a working day), before and after 09:00 in London (GMT).
EARLY = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)
OPEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def summaries(api: SlackAPI) -> list[str]:
    return [c.body["text"] for c in api.of("chat.postMessage") if "Monthly summary" in c.body.get("text", "")]


def test_the_monthly_summary_is_posted_once_with_counts_only(
    slack_api: SlackAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, schema_database_url: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", database_url=schema_database_url,
                        slack_bot_token="xoxb-test", slack_api_url=slack_api.url,
                        slack_business_unit_channel="CBU")
    clock = FixedClock(datetime(2026, 11, 16, 10, tzinfo=UTC))
    first, second = create_app(settings, clock=clock), create_app(settings, clock=clock)
    try:
        ref = new_case(first.core)  # referred in November: the summary counts it
        [slack] = first.core.notifiers
        [other] = second.core.notifiers
        clock.set(EARLY)
        first._safe_tick()
        slack.flush()  # type: ignore[attr-defined]
        assert summaries(slack_api) == []  # not before working hours on the first working day
        clock.set(OPEN)
        for app, notifier in ((first, slack), (second, other), (first, slack)):
            app._safe_tick()
            notifier.flush()  # type: ignore[attr-defined]
        [text] = summaries(slack_api)
        assert "Monthly summary for 2026-11" in text and "Referrals received: 1." in text
        assert "Now: 1 open cases" in text
        assert ref not in slack_api.everything_sent().split("Monthly summary")[-1]
        assert "partnership.example" not in text
        with first.core.db.session() as s:
            [row] = s.exec(select(MonthlySummary)).all()
        assert row.month == "2026-12" and row.counts["referrals"] == 1
        assert slack.repost_missing() == 0  # type: ignore[attr-defined]  # posted: nothing to re-post
    finally:
        first.stop()
        second.stop()


def test_a_summary_slack_refused_is_posted_by_the_next_tick(
    slack_api: SlackAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, schema_database_url: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", database_url=schema_database_url,
                        slack_bot_token="xoxb-test", slack_api_url=slack_api.url,
                        slack_business_unit_channel="CBU")
    app = create_app(settings, clock=FixedClock(OPEN))
    try:
        [slack] = app.core.notifiers
        slack_api.fail["chat.postMessage"] = "channel_not_found"
        app._safe_tick()
        slack.flush()  # type: ignore[attr-defined]
        del slack_api.fail["chat.postMessage"]
        slack_api.clear()
        app._safe_tick()
        slack.flush()  # type: ignore[attr-defined]
        app._safe_tick()
        slack.flush()  # type: ignore[attr-defined]
        assert len(summaries(slack_api)) == 1
    finally:
        app.stop()


def test_the_monthly_summary_in_teams_once(tmp_path: Path, schema_database_url: str) -> None:
    from bot.report_monthly import post_monthly_summary
    from tests.support.teams_connector import BU_CHANNEL, TeamsConnector, TeamsHarness

    clock = FixedClock(OPEN)
    fake = TeamsConnector(now=clock.now).start()
    teams = TeamsHarness(fake, clock, tmp_path, schema_database_url)
    try:
        assert post_monthly_summary(teams.core) is True
        assert post_monthly_summary(teams.core) is False  # the month's row is there: nothing more
        assert teams.app.notifier.repost_missing() == 0
        posted = [s for s in fake.of("create", BU_CHANNEL) if "Monthly summary" in s.dumps()]
        assert len(posted) == 1
        assert "Monthly summary for 2026-11" in posted[0].body["text"]
        assert posted[0].body["textFormat"] == "plain"
    finally:
        teams.close()
        fake.stop()
