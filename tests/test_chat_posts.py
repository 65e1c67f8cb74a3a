"""Chat posts as rows (issue 11 item 2; decision 0019): an installation upgraded from the Slack
columns keeps its cards and alerts (migration 0004) and the bot updates the same messages in
place, on SQLite and PostgreSQL; the downgrade puts them back; one post per surface, object and
conversation."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from bot import chat_posts, media
from bot import media_report as report
from bot.cases import get_case, start_triage
from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.media import EnquiryInput
from bot.models import ChatPost
from bot.protocol import load_protocol
from bot.schema import alembic_config, current, head_revision, migration_engine, upgrade
from handlers.slack.media_notifier import repost_missing_media_alerts
from handlers.slack.notifier import repost_missing_cards
from tests.conftest import new_case
from tests.support.slack_api import NOW, SlackAPI, SlackHarness
from tests.support.slack_api import slack_api as slack_api  # the fixture

CARD_TS, ALERT_TS = "1699999999.000111", "1699999999.000222"
#: When the older version posted the alert (naive UTC, as the column stores it).
POSTED = datetime(2026, 11, 23, 10, 2)


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql)).all()]
    finally:
        engine.dispose()


def downgrade(url: str, revision: str) -> None:
    engine = migration_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            command.downgrade(alembic_config(conn), revision)
    finally:
        engine.dispose()


def installation_at_0003(url: str) -> dict[str, int]:
    """What the older version left: a case with its card, a case whose card never got posted
    (Slack was down), a media enquiry with its alert, all in the 0003 columns.

    The rows are made with today's models at head and the schema then taken back to 0003, so a
    later column on these tables (migration 0005's deadline.owner) does not break the set-up."""
    upgrade(url)
    db = Database(url)
    core = Core(db=db, protocol=load_protocol(None), clock=FixedClock(NOW))
    try:
        posted, unposted = new_case(core), new_case(core)
        with core.transaction() as s:
            enquiry = media.receive_enquiry(s, core, EnquiryInput(outlet="Local Radio", subject="general"),
                                            actor="cli:press", source="cli")
            ids = {"posted": get_case(s, posted).id or 0, "unposted": get_case(s, unposted).id or 0,
                   "media": enquiry.id or 0}
    finally:
        db.engine.dispose()
    downgrade(url, "0003")
    db = Database(url)
    try:
        with db.engine.begin() as conn:
            conn.execute(text('UPDATE "case" SET slack_channel = :c, slack_ts = :ts WHERE id = :id'),
                         {"c": "CBU", "ts": CARD_TS, "id": ids["posted"]})
            conn.execute(text("UPDATE mediaenquiry SET slack_channel = :c, slack_ts = :ts, "
                              "slack_posted_at = :at WHERE id = :id"),
                         {"c": "CCOMMS", "ts": ALERT_TS, "at": POSTED, "id": ids["media"]})
    finally:
        db.engine.dispose()
    return ids


def test_an_upgraded_installation_updates_the_same_slack_messages_in_place(
    database_url: str, slack_api: SlackAPI, tmp_path: Path,
) -> None:
    ids = installation_at_0003(database_url)
    upgrade(database_url)
    assert current(database_url).revision == head_revision()
    assert sorted(rows(database_url, "SELECT surface, object_kind, object_id, conversation, message_id "
                                     "FROM chatpost")) == sorted([
        ("slack", "case", ids["posted"], "CBU", CARD_TS),
        ("slack", "media", ids["media"], "CCOMMS", ALERT_TS),
    ])

    slack = SlackHarness(slack_api, tmp_path, database_url, comms_channel="CCOMMS")
    with slack.core.transaction() as s:
        start_triage(s, slack.core, get_case(s, "SI-2026-0001"), actor="cli:bm")
        media.acknowledge(s, slack.core, media.get_enquiry(s, "ME-2026-0001"), actor="cli:press",
                          team_member=True)
    updates = [(c.body["channel"], c.body["ts"]) for c in slack_api.of("chat.update")]
    assert ("CBU", CARD_TS) in updates and ("CCOMMS", ALERT_TS) in updates
    posts = [c.body for c in slack_api.of("chat.postMessage")]
    assert [p for p in posts if not p.get("thread_ts")] == []  # no second card, no second alert
    assert any(p["thread_ts"] == CARD_TS and "Triage" in p["text"] for p in posts)
    assert not [p for p in posts if str(p["channel"]).startswith("D")]  # the DMs are not sent again

    # The sweep posts only the card the older version never managed to post.
    assert repost_missing_cards(slack.core, slack.client, slack.settings) == 1
    assert repost_missing_media_alerts(slack.core, slack.client, slack.settings) == 0
    assert slack.ts_of("case", ids["unposted"]) and slack.ts_of("case", ids["posted"]) == CARD_TS
    # Time to notify still reads the older version's posting time.
    with slack.core.db.session() as s:
        [row] = report.media_report(s, slack.core)
    assert row["seconds_to_notify"] == int((POSTED - NOW.replace(tzinfo=None)).total_seconds())
    slack.core.db.engine.dispose()


def test_the_downgrade_puts_the_slack_columns_back(database_url: str) -> None:
    ids = installation_at_0003(database_url)
    before = rows(database_url, 'SELECT id, slack_channel, slack_ts FROM "case" ORDER BY id')
    upgrade(database_url)
    db = Database(database_url)
    core = Core(db=db, protocol=load_protocol(None), clock=FixedClock(NOW + timedelta(hours=1)))
    with core.transaction() as s:  # a Teams post of the same case: its row goes with the table
        chat_posts.record_post(s, core, "teams", chat_posts.CASE, ids["posted"], "19:abc@thread.tacv2", "1")
    db.engine.dispose()

    downgrade(database_url, "0003")
    assert current(database_url).revision == "0003"
    assert rows(database_url, 'SELECT id, slack_channel, slack_ts FROM "case" ORDER BY id') == before
    [(channel, ts, posted)] = rows(database_url, "SELECT slack_channel, slack_ts, slack_posted_at "
                                                 "FROM mediaenquiry")
    assert (channel, ts) == ("CCOMMS", ALERT_TS)
    assert str(posted).startswith("2026-11-23 10:02")


def test_one_post_per_surface_object_and_conversation(core: Core, clock: FixedClock) -> None:
    case_id = 1
    new_case(core)
    with core.transaction() as s:
        first = chat_posts.record_post(s, core, "slack", chat_posts.CASE, case_id, "CBU", "1.1")
        chat_posts.record_post(s, core, "teams", chat_posts.CASE, case_id, "19:bu@thread", "act-1")
        first_id, posted_at = first.id, first.posted_at
    clock.advance(timedelta(minutes=5))
    with core.transaction() as s:  # posted again in the same place: the same row, moved
        again = chat_posts.record_post(s, core, "slack", chat_posts.CASE, case_id, "CBU", "1.2")
        assert (again.id, again.message_id, again.posted_at) == (first_id, "1.2", posted_at)
        assert again.updated_at == clock.now()
        assert [p.surface for p in chat_posts.posts_of(s, "teams", chat_posts.CASE, case_id)] == ["teams"]
        assert chat_posts.first_posted_at(s, chat_posts.CASE, case_id) == posted_at
        assert chat_posts.post_of(s, "slack", chat_posts.MEDIA, case_id, "CBU") is None
    with pytest.raises(ValueError, match="unknown kind"), core.transaction() as s:
        chat_posts.record_post(s, core, "slack", "board", case_id, "CBU", "1.3")
    # Two instances racing past the posting lease still cannot record two posts in one place.
    with pytest.raises(IntegrityError), core.db.transaction() as s:
        s.add(ChatPost(surface="slack", object_kind="case", object_id=case_id, conversation="CBU",
                       message_id="1.9", posted_at=clock.now(), updated_at=clock.now()))


def test_the_app_builds_its_notifiers_from_the_settings_and_each_tick_reposts(
    slack_api: SlackAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.app import build_notifiers, create_app
    from bot.settings import Settings
    from handlers.slack.notifier import SlackNotifier

    monkeypatch.chdir(tmp_path)
    quiet = create_app(Settings(_env_file=None, data_dir=tmp_path / "quiet"), clock=FixedClock(NOW))
    assert quiet.core.notifiers == []
    quiet.stop()
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", slack_bot_token="xoxb-test",
                        slack_api_url=slack_api.url, slack_business_unit_channel="CBU")
    app = create_app(settings, clock=FixedClock(NOW))
    try:
        [slack] = app.core.notifiers
        assert isinstance(slack, SlackNotifier) and slack.surface == "slack"
        assert [n.surface for n in build_notifiers(app.core, settings)] == ["slack"]
        slack_api.fail["chat.postMessage"] = "channel_not_found"  # Slack refuses when the case opens
        new_case(app.core)
        slack.flush()
        assert slack.repost_missing() == 0
        del slack_api.fail["chat.postMessage"]
        slack_api.clear()
        app._safe_tick()
        cards = [c.body for c in slack_api.of("chat.postMessage")  # not the monthly summary (issue 14)
                 if c.body["channel"] == "CBU" and not c.body.get("thread_ts")
                 and "Monthly summary" not in c.body["text"]]
        assert len(cards) == 1 and "SI-2026-0001" in cards[0]["text"]
        assert slack.repost_missing() == 0
    finally:
        app.stop()
