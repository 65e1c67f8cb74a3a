"""Retention gaps found in review (issue 13): a door's stored replies deleted after their period,
mail of a case still queued or in flight when its working file is purged, the holds view in the
access log, and a chat post's hold checked again at deletion time. Through the real tick, on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot import chat_posts, doors, legal_hold, outbox
from bot.actors import resolve_actor
from bot.cases import close, get_case
from bot.core import Core
from bot.mail.maildir import MaildirGateway
from bot.mailer import Rendered
from bot.models import ChatPost, DoorRequest, Event, OutboxMessage
from bot.models_retention import PurgedRecord
from bot.outbox_marks import mark_sent
from bot.retention import _due_posts as due_posts
from bot.retention import purge
from bot.retention_chat import delete_due_posts
from bot.retention_purge import record_closures
from schedules.sweep import tick
from tests.conftest import new_case
from tests.support.slack_api import SlackAPI, SlackHarness
from tests.support.slack_api import slack_api as slack_api  # the fixture
from tests.test_retention import CANARY, at, build_closed_case, texts
from tests.test_retention_doors import BM, REF, Cli


def sent_files(maildir: MaildirGateway) -> list[str]:
    return sorted(p.name for p in Path(maildir.root).rglob("*") if p.is_file())

RECORDED = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)


# --- a door's replies ------------------------------------------------------------------------------


def test_a_doors_stored_replies_are_deleted_after_thirty_days(core: Core, maildir: MaildirGateway) -> None:
    at(core, RECORDED)
    result, first = doors.once(core, key="cli:rerun-1", surface="cli",
                               action=lambda s: {"lines": [f"{CANARY}'s case opened"]})
    assert first and result["lines"]
    at(core, RECORDED + timedelta(days=20))
    doors.once(core, key="cli:rerun-2", surface="cli", action=lambda s: {"lines": ["later"]})

    # 30 days from the day it was recorded: kept to the end of that day, as every class.
    at(core, datetime(2026, 12, 18, 23, 59, tzinfo=UTC))
    assert "door_replies" not in tick(core, maildir).purged
    replay = doors.once(core, key="cli:rerun-1", surface="cli", action=lambda s: {"lines": []})
    assert replay == (result, False)
    at(core, datetime(2026, 12, 19, 0, 1, tzinfo=UTC))
    assert tick(core, maildir).purged["door_replies"] == 1
    with core.db.session() as s:
        assert s.exec(select(DoorRequest.key)).all() == ["cli:rerun-2"]  # the younger one stays
        event = s.exec(select(Event).where(Event.kind == "retention_purged")).one()
    assert event.detail == {"record_class": "door_replies", "objects": 1, "rows": 1, "files": 0}
    assert "door_replies" not in tick(core, maildir).purged  # nothing twice


# --- mail of a case in the outbox when its working file is purged ---------------------------------

#: The day the working file of a case closed at CLOSED falls due: Friday 19 November 2032.
PURGE_NIGHT = datetime(2032, 11, 19, 0, 0, 1, tzinfo=UTC)  # outside working hours


def _queue(core: Core, case_id: int, key: str, kind: str) -> int:
    with core.transaction() as s:
        row = outbox.enqueue(s, core, key=key, kind=kind, to=["gp@agency.example"], case_id=case_id,
                             rendered=Rendered(f"About {CANARY}", f"{CANARY} was seen", f"<p>{CANARY}</p>"))
        assert row is not None and row.id is not None
        return row.id


def test_mail_queued_for_working_hours_is_cancelled_when_its_case_is_purged(
    core: Core, maildir: MaildirGateway,
) -> None:
    ids = build_closed_case(core)
    at(core, PURGE_NIGHT - timedelta(hours=1))
    # A chaser waits for working hours (bot.outbox.WORKING_HOURS_KINDS) with no reason of its own.
    queued = _queue(core, ids["case"], "late-chaser", "reminder")
    assert tick(core, maildir).delivery.deferred == 1

    at(core, PURGE_NIGHT)
    report = tick(core, maildir)
    assert "case_working_file" in report.purged  # still waiting for 09:00, not sent yet
    with core.db.session() as s:
        row = s.get(OutboxMessage, queued)
        assert row is not None and row.status == "cancelled"
        assert (row.subject, row.body_text, row.body_html) == ("purged", "", None)
        cancelled = [e.detail for e in s.exec(select(Event).where(Event.kind == "outbox_cancelled"))
                     if e.detail["outbox_id"] == queued]
        assert cancelled == [{"outbox_id": queued, "message_kind": "reminder",
                              "reason": f"case:{ids['case']}"}]
    outgoing = sent_files(maildir)
    at(core, datetime(2032, 11, 19, 10, 0, tzinfo=UTC))  # working hours: it does not go
    tick(core, maildir)
    assert sent_files(maildir) == outgoing
    assert CANARY not in texts(core)


def test_mail_in_flight_when_its_case_is_purged_is_emptied_once_it_has_gone(
    core: Core, maildir: MaildirGateway,
) -> None:
    ids = build_closed_case(core)
    at(core, PURGE_NIGHT)
    flying = _queue(core, ids["case"], "statement", "notification")
    with core.transaction() as s:
        # Another instance's delivery has claimed it and is sending it right now.
        s.execute(update(OutboxMessage).where(col(OutboxMessage.id) == flying).values(
            status="sending", claimed_by="other", claimed_at=PURGE_NIGHT,
            lease_until=PURGE_NIGHT + timedelta(hours=1)))
    assert "case_working_file" in tick(core, maildir).purged
    with core.db.session() as s:
        row = s.get(OutboxMessage, flying)
        assert row is not None and row.status == "sending" and CANARY in row.body_text  # not stopped

    mark_sent(core, flying, "other", PURGE_NIGHT + timedelta(seconds=5))
    at(core, PURGE_NIGHT + timedelta(hours=2))  # the purge looks again within the hour
    assert tick(core, maildir).purged == {"case_working_file": 1}
    with core.db.session() as s:
        row = s.get(OutboxMessage, flying)
        assert row is not None and row.status == "sent" and row.body_text == "" and row.subject == "purged"
        stone = s.exec(select(PurgedRecord).where(PurgedRecord.table_name == "outboxmessage",
                                                  PurgedRecord.row_id == flying)).one()
        assert (stone.record_class, stone.case_id) == ("case_working_file", ids["case"])
    assert CANARY not in texts(core)
    assert tick(core, maildir).purged == {}  # nothing twice


# --- the holds view in the access log ----------------------------------------------------------------


def test_the_holds_view_shows_notes_and_is_in_the_access_log(tmp_path: Path, database_url: str) -> None:
    cli = Cli(tmp_path, database_url)
    now = ["--now", "2026-11-16T10:00"]
    cli(*now, *BM, "open", "--referring-agency", "la-csc", "--incident-date", "2026-11-12",
        "--la-aware", "2026-11-13", "--outcome", "death", "--agency", "police")
    cli(*now, *BM, "case", REF, "hold", "--reason", "criminal", "--note", "Trial listed for May")
    assert json.loads(cli(*now, "access-log", "--json").output) == []  # setting a hold shows nothing

    assert "note: Trial listed for May" in cli(*now, *BM, "case", REF, "holds").output
    holds = json.loads(cli("--now", "2026-11-17T11:00", "--actor", "cli:dpo", "case", REF, "holds",
                           "--json").output)
    assert holds["held"] == ["criminal"] and holds["holds"][0]["note"] == "Trial listed for May"
    rows = json.loads(cli(*now, "access-log", "--case", REF, "--json").output)
    assert [(r["actor"], r["surface"], r["what"], r["detail"], r["at"]) for r in rows] == [
        ("business.manager@partnership.example", "cli", "view", "holds", "2026-11-16T10:00:00+00:00"),
        ("cli:dpo", "cli", "view", "holds", "2026-11-17T11:00:00+00:00"),
    ]
    assert "Trial" not in json.dumps(rows)  # what was seen, never the words


# --- a chat post's hold, checked again when it is deleted ---------------------------------------


@pytest.fixture
def slack(slack_api: SlackAPI, tmp_path: Path, schema_database_url: str) -> SlackHarness:
    return SlackHarness(slack_api, tmp_path, schema_database_url)


def test_a_hold_set_after_the_posts_were_chosen_keeps_them(slack: SlackHarness, slack_api: SlackAPI) -> None:
    ref = new_case(slack.core)
    with slack.core.transaction() as s:
        case = get_case(s, ref)
        close(s, slack.core, case, reason="no further action", actor="cli:bm")
        case_id = case.id
    post = slack.post_of(chat_posts.CASE, case_id)
    assert post is not None
    slack.clock.set(datetime(2028, 1, 1, tzinfo=UTC))
    with slack.core.db.transaction() as s:
        record_closures(s, slack.core.clock.now())  # the anchors, as the purge records them first
    chosen = due_posts(slack.core)
    assert chosen == [post.id]
    # A coroner's inquest is opened between the choice and the deletion (a batch takes a while).
    bm = resolve_actor(slack.core, surface="cli", user_id="bm")
    legal_hold.hold(slack.core, bm, ref, "coroner")
    slack_api.clear()
    assert delete_due_posts(slack.core, chosen) == 0
    assert slack_api.of("chat.delete") == []
    with slack.core.db.session() as s:
        row = s.get(ChatPost, post.id)
        assert row is not None and row.deleted_at is None and row.delete_attempts == 0

    legal_hold.release(slack.core, bm, ref)
    assert purge(slack.core) == {"chat_posts": 1}
    deletes = [c.body for c in slack_api.of("chat.delete")]
    assert {"channel": post.conversation, "ts": post.message_id} in deletes
