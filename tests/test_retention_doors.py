"""The doors of issue 13 items 2-5: the access log written by the CLI's case view and chronology
export, a Slack status and a Teams status (the real bolt App against the local Slack Web API, the
Teams door against the fake connector); `review-bot retention` and `case REF hold`; and the bot's
own chat posts of a closed case deleted after the period, once, with a failure retried."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlmodel import select

from bot import chat_posts
from bot.cases import close, get_case
from bot.cli import main
from bot.core import Core
from bot.models import ChatPost
from bot.models_retention import AccessLog, ChatReply
from bot.retention import purge
from tests.conftest import new_case
from tests.support.slack_api import BUSINESS_MANAGER, NOW, SlackAPI, SlackHarness
from tests.support.slack_api import slack_api as slack_api  # the fixture
from tests.support.teams_connector import BU_CHANNEL, TeamsConnector, TeamsHarness

REF = "SI-2026-0001"
BM = ["--actor", "business.manager@partnership.example"]


class Cli:
    def __init__(self, root: Path, database_url: str) -> None:
        self.env = {"DATABASE_URL": database_url, "MAILDIR": str(root / "mail"),
                    "ATTACHMENTS_DIR": str(root / "attachments"), "STATE_DIR": str(root / "state"),
                    "PROTOCOL_FILE": "", "MAIL_BACKEND": "maildir"}

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result


def access_rows(core: Core) -> list[tuple[str, str, str, str | None]]:
    with core.db.session() as s:
        return [(r.actor, r.surface, r.what, r.detail)
                for r in s.exec(select(AccessLog).order_by(AccessLog.id))]  # type: ignore[arg-type]


# --- the CLI ---------------------------------------------------------------------------------------


def test_the_cli_view_and_export_are_logged_and_read_back(tmp_path: Path, database_url: str) -> None:
    cli = Cli(tmp_path, database_url)
    now = ["--now", "2026-11-16T10:00"]
    cli(*now, *BM, "open", "--referring-agency", "la-csc", "--incident-date", "2026-11-12",
        "--la-aware", "2026-11-13", "--outcome", "death", "--agency", "police")
    cli(*now, *BM, "access-log", "--json")  # reading the log is not itself a view of a case
    shown = cli(*now, *BM, "case", REF)
    assert shown.output.startswith(f"{REF}  ")
    out = tmp_path / "composite.html"
    cli(*now, *BM, "case", REF, "chronology", "--html", str(out))
    assert out.exists()
    cli("--now", "2026-11-17T11:00", "--actor", "cli:dpo", "case", REF, "chronology")

    rows = json.loads(cli(*now, "access-log", "--case", REF, "--json").output)
    assert [(r["case"], r["actor"], r["surface"], r["what"], r["detail"]) for r in rows] == [
        (REF, "business.manager@partnership.example", "cli", "view", None),
        (REF, "business.manager@partnership.example", "cli", "chronology-export", "html"),
        (REF, "cli:dpo", "cli", "view", "chronology"),
    ]
    assert rows[0]["at"] == "2026-11-16T10:00:00+00:00"
    since = json.loads(cli(*now, "access-log", "--from", "2026-11-17", "--json").output)
    assert [r["actor"] for r in since] == ["cli:dpo"]
    text = cli(*now, "access-log").output
    assert "chronology-export (html)" in text and REF in text


def test_hold_commands_and_the_retention_table(tmp_path: Path, database_url: str) -> None:
    cli = Cli(tmp_path, database_url)
    now = ["--now", "2026-11-16T10:00"]
    cli(*now, *BM, "open", "--referring-agency", "la-csc", "--incident-date", "2026-11-12",
        "--la-aware", "2026-11-13", "--outcome", "death", "--agency", "police")
    said = cli(*now, *BM, "case", REF, "hold", "--reason", "coroner", "--note", "Inquest listed for March")
    assert "legal hold set (coroner)" in said.output
    cli(*now, *BM, "case", REF, "hold", "--reason", "inquest", code=2)
    # Someone on the server is an operator (decision 0016); the core refuses the business unit's
    # members elsewhere (tests/test_retention.py).
    holds = json.loads(cli(*now, "case", REF, "holds", "--json").output)
    assert holds["held"] == ["coroner"] and holds["holds"][0]["note"] == "Inquest listed for March"
    assert "note: Inquest listed for March" in cli(*now, "case", REF, "holds").output
    assert "released (coroner)" in cli(*now, *BM, "case", REF, "release-hold").output

    table = json.loads(cli(*now, "retention", "--json").output)
    assert [r["class"] for r in table] == [
        "case_working_file", "returns_and_chronologies", "raw_mail", "media_log", "chat_posts",
        "door_replies", "drafts", "final_report", "complaints"]
    working = table[0]
    assert (working["period"], working["anchor"], working["waiting"]) == ("72 months", "case closed", 0)
    lines = cli(*now, "retention").output.splitlines()
    assert lines[0].startswith("case_working_file") and "72 months after case closed" in lines[0]
    assert "not held by the bot" in lines[-2]  # the final report (drafts too)
    assert lines[-1].startswith("complaints") and "72 months after complaint closed" in lines[-1]


# --- Slack -----------------------------------------------------------------------------------------


@pytest.fixture
def slack(slack_api: SlackAPI, tmp_path: Path, schema_database_url: str) -> SlackHarness:
    return SlackHarness(slack_api, tmp_path, schema_database_url)


def test_a_slack_status_is_logged_and_a_refused_one_is_not(slack: SlackHarness, slack_api: SlackAPI) -> None:
    ref = new_case(slack.core)
    slack_api.clear()
    slack.command(f"status {ref}")
    answer = slack_api.of("response")[-1].body
    assert ref in json.dumps(answer)
    slack.command(f"status {ref}", user="UNOBODY")
    assert access_rows(slack.core) == [(f"slack:{BUSINESS_MANAGER}", "slack", "view", None)]


def test_slack_posts_of_a_closed_case_are_deleted_once_after_the_period(
    slack: SlackHarness, slack_api: SlackAPI,
) -> None:
    ref = new_case(slack.core)
    with slack.core.db.session() as s:
        case_id = get_case(s, ref).id
    post = slack.post_of(chat_posts.CASE, case_id)
    assert post is not None and post.conversation == "CBU"
    with slack.core.transaction() as s:
        close(s, slack.core, get_case(s, ref), reason="no further action", actor="cli:bm")
    # Closed Monday 23 Nov 2026 10:00: 90 days end on Sunday 21 Feb 2027.
    slack.clock.set(datetime(2027, 2, 21, 23, 59, 59, tzinfo=UTC))
    assert purge(slack.core) == {}
    slack.clock.set(datetime(2027, 2, 22, 0, 0, 1, tzinfo=UTC))
    slack_api.fail["chat.delete"] = "ratelimited"
    assert purge(slack.core) == {}  # Slack refused: retried later
    with slack.core.db.session() as s:
        row = s.get(ChatPost, post.id)
        assert row is not None and row.deleted_at is None and row.delete_attempts == 1
    del slack_api.fail["chat.delete"]
    assert purge(slack.core) == {"chat_posts": 1}
    assert purge(slack.core) == {}
    # The card's thread replies first (Slack keeps a deleted parent's replies), then the card.
    threaded = [c for c in slack_api.of("chat.postMessage") if c.body.get("thread_ts") == post.message_id]
    with slack.core.db.session() as s:
        kept = s.exec(select(ChatReply).where(ChatReply.post_id == post.id).order_by(ChatReply.id)).all()
    assert len(kept) == len(threaded) >= 1  # "closed" was replied under the card
    assert all(r.deleted_at is not None for r in kept)
    replies = [r.message_id for r in kept]
    deletes = [c.body for c in slack_api.of("chat.delete")]
    assert deletes[1:] == [*({"channel": "CBU", "ts": ts} for ts in replies),
                           {"channel": "CBU", "ts": post.message_id}]
    with slack.core.db.session() as s:
        row = s.get(ChatPost, post.id)
        assert row is not None and row.deleted_at == datetime(2027, 2, 22, 0, 0, 1, tzinfo=UTC)
    # Nothing updates or replies under a deleted card (a later event on the closed case).
    posted, updated = len(slack_api.of("chat.postMessage")), len(slack_api.of("chat.update"))
    from bot.actors import resolve_actor
    from bot.legal_hold import hold

    hold(slack.core, resolve_actor(slack.core, surface="cli", user_id="bm"), ref, "complaint")
    assert (len(slack_api.of("chat.postMessage")), len(slack_api.of("chat.update"))) == (posted, updated)


def test_a_slack_post_already_gone_counts_as_deleted(slack: SlackHarness, slack_api: SlackAPI) -> None:
    ref = new_case(slack.core)
    with slack.core.transaction() as s:
        case = get_case(s, ref)
        close(s, slack.core, case, reason="no further action", actor="cli:bm")
        case_id = case.id
    post = slack.post_of(chat_posts.CASE, case_id)
    slack_api.deleted.add((post.conversation, post.message_id))  # someone deleted it by hand
    slack.clock.set(datetime(2028, 1, 1, tzinfo=UTC))
    assert purge(slack.core) == {"chat_posts": 1}
    assert datetime(2028, 1, 1, tzinfo=UTC) > NOW


# --- Teams -----------------------------------------------------------------------------------------


def test_teams_status_is_logged_and_its_posts_deleted_after_the_period(
    teams: TeamsHarness, fake: TeamsConnector,
) -> None:
    ref = new_case(teams.core)
    teams.say(f"status {ref}")
    assert access_rows(teams.core) == [("teams:aad-bm-0001", "teams", "view", None)]

    with teams.core.transaction() as s:
        case = get_case(s, ref)
        close(s, teams.core, case, reason="no further action", actor="cli:bm")
        case_id = case.id
    with teams.core.db.session() as s:
        post: Any = s.exec(select(ChatPost).where(ChatPost.surface == "teams",
                                                  ChatPost.object_id == case_id)).one()
    assert post.conversation == BU_CHANNEL
    # Closed Monday 16 Nov 2026: 90 days end on Sunday 14 Feb 2027.
    teams.clock.set(datetime(2027, 2, 14, 23, 59, 59, tzinfo=UTC))
    assert purge(teams.core) == {}
    teams.clock.set(datetime(2027, 2, 15, 0, 0, 1, tzinfo=UTC))
    assert purge(teams.core) == {"chat_posts": 1}
    replies = [r.activity_id for r in fake.of("reply") if r.reply_to == post.message_id]
    assert replies  # "closed" was replied under the card: deleted first, then the card
    assert [(d.conversation, d.activity_id) for d in fake.of("delete")] == [
        *((BU_CHANNEL, r) for r in replies), (BU_CHANNEL, post.message_id)]
    assert purge(teams.core) == {}
    with teams.core.db.session() as s:
        row = s.get(ChatPost, post.id)
        assert row is not None and row.deleted_at is not None


def test_a_teams_post_already_gone_counts_as_deleted(teams: TeamsHarness, fake: TeamsConnector) -> None:
    ref = new_case(teams.core)
    with teams.core.transaction() as s:
        case = get_case(s, ref)
        close(s, teams.core, case, reason="no further action", actor="cli:bm")
        case_id = case.id
    with teams.core.db.session() as s:
        post = chat_posts.first_post(s, "teams", chat_posts.CASE, case_id)  # type: ignore[arg-type]
    assert post is not None
    fake._activities.discard((post.conversation, post.message_id))  # deleted in Teams by hand: a 404
    teams.clock.set(datetime(2028, 1, 1, tzinfo=UTC))
    assert purge(teams.core) == {"chat_posts": 1}
    # Its replies were still there and went; the card itself answered 404 and counts as deleted.
    replies = [r.activity_id for r in fake.of("reply") if r.reply_to == post.message_id]
    assert [d.activity_id for d in fake.of("delete")] == replies
