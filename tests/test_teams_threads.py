"""Thread replies and the unacknowledged-media DM in Teams (issue 11): the same events and the
core's words (bot/replies.py) as Slack, posted as the Bot Connector's reply to the card's or the
alert's activity, in plain text, over signed HTTP into the real endpoint and the fake connector."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot import chasers
from bot.chasers import chase_overdue
from bot.clock import FixedClock
from bot.models import Case, MediaEnquiry
from tests.conftest import MONDAY_10
from tests.support.teams_connector import (
    BU_CHANNEL,
    BUSINESS_MANAGER,
    MEDIA_CHANNEL,
    Sent,
    TeamsConnector,
    TeamsHarness,
    buttons_of,
    card_of,
    dialog_card,
    submit_data,
)
from tests.test_teams_media import CANARY, ENQUIRY, PRESS, ROLES, report
from tests.test_teams_referral import REFERRAL

PRACTITIONER = "aad-practitioner-1"
TYPED_REASON = "CANARY-reason-Jo-Bloggs-07700900123"


@pytest.fixture
def teams(tmp_path: Path, schema_database_url: str) -> Iterator[TeamsHarness]:
    clock = FixedClock(MONDAY_10)
    fake = TeamsConnector(now=clock.now).start()
    harness = TeamsHarness(fake, clock, tmp_path, schema_database_url, roles=ROLES)
    yield harness
    harness.close()
    fake.stop()


def the_case(teams: TeamsHarness) -> Case:
    with teams.core.transaction() as session:
        [case] = session.exec(select(Case))
        session.expunge(case)
        return case


def button(teams: TeamsHarness, case: Case, title: str) -> dict:
    """A button on the card as the channel shows it now (the last update, else the post)."""
    card = card_of([*teams.fake.of("create", BU_CHANNEL)[:1], *teams.fake.of("update", BU_CHANNEL)][-1])
    [found] = [b for b in buttons_of(card) if b["title"] == title]
    return found


def form_and_submit(teams: TeamsHarness, pressed: dict, **answers: str) -> dict:
    form = dialog_card(teams.fetch(pressed["data"]))
    return teams.submit({**submit_data(form), **answers})


def texts(replies: list[Sent]) -> list[str]:
    for reply in replies:
        assert reply.body["textFormat"] == "plain" and reply.body["replyToId"] == reply.reply_to
    return [r.body["text"] for r in replies]


def test_the_case_card_gets_a_thread_reply_for_each_event_slack_replies_to(teams: TeamsHarness) -> None:
    card = dialog_card(teams.fetch({"rb": {"use": "refer"}}, PRACTITIONER))
    teams.submit({**submit_data(card), **REFERRAL}, PRACTITIONER)
    case = the_case(teams)
    [posted] = teams.fake.of("create", BU_CHANNEL)
    assert texts(teams.fake.replies_to(posted.activity_id)) == []  # the card says it was referred

    form_and_submit(teams, button(teams, case, "Accept (criteria met)"), la_aware_date="2026-11-13")
    [moved] = texts(teams.fake.replies_to(posted.activity_id))
    assert moved == f"{case.ref}: Referral received → Notification pending."

    [record] = [b for b in buttons_of(card_of(teams.fake.of("update", BU_CHANNEL)[-1]))
                if b["type"] == "Action.Execute" and b["verb"] == "sin_submitted"]
    teams.execute(record["verb"], record["data"])
    form_and_submit(teams, button(teams, case, "Send information requests"), agencies="police,school")
    form_and_submit(teams, button(teams, case, "Return received"), request="police|info-gathering")
    thread = texts(teams.fake.replies_to(posted.activity_id))
    assert f"{case.ref}: Notification pending → Notification submitted: information gathering." in thread
    assert any(t.startswith(f"{case.ref}: information gathering request sent to Example Constabulary, due ")
               for t in thread)
    assert f"{case.ref}: information gathering return received from Example Constabulary." in thread
    # Every reply is in the card's thread in the business unit's channel; the card is still one.
    assert {r.conversation for r in teams.fake.of("reply")} == {BU_CHANNEL}
    assert len(teams.fake.of("create", BU_CHANNEL)) == 1

    # The clock: an overdue statutory deadline or return is a reply with the core's sign.
    teams.clock.advance(timedelta(days=30))
    chasers.chase_overdue(teams.core)
    late = [t for t in texts(teams.fake.replies_to(posted.activity_id)) if "overdue" in t]
    assert late and all(t.startswith(case.ref) for t in late)
    assert any("🔴" in t or "⚠️" in t for t in late) and not any(":red_circle:" in t for t in late)
    assert TYPED_REASON not in teams.fake.everything()


def test_a_reason_typed_into_a_form_never_reaches_the_thread(teams: TeamsHarness) -> None:
    card = dialog_card(teams.fetch({"rb": {"use": "refer"}}, PRACTITIONER))
    teams.submit({**submit_data(card), **REFERRAL}, PRACTITIONER)
    case = the_case(teams)
    [posted] = teams.fake.of("create", BU_CHANNEL)
    answer = form_and_submit(teams, button(teams, case, "Criteria not met"),
                             route="no-further-action", reason=TYPED_REASON)
    assert answer["task"]["type"] == "message", answer
    thread = texts(teams.fake.replies_to(posted.activity_id))
    assert thread and all(t.startswith(case.ref) for t in thread)
    assert TYPED_REASON not in teams.fake.everything() and "Bloggs" not in teams.fake.everything()


def enquiry(teams: TeamsHarness) -> MediaEnquiry:
    with teams.core.transaction() as session:
        [found] = session.exec(select(MediaEnquiry))
        session.expunge(found)
        return found


def test_an_unacknowledged_alert_repeats_in_its_thread_and_in_the_business_managers_chat(
    teams: TeamsHarness,
) -> None:
    report(teams, deadline="2026-11-16", deadline__time="13:30")
    found = enquiry(teams)
    [alert] = teams.fake.of("create", MEDIA_CHANNEL)
    told_before = len(teams.fake.of("create", f"a:dm-{BUSINESS_MANAGER}"))
    teams.clock.advance(timedelta(minutes=15))
    assert chase_overdue(teams.core).media_steps == 1
    [repeat] = texts(teams.fake.replies_to(alert.activity_id))
    assert repeat == (f"🚨 {found.ref}: still not acknowledged (alert repeated 1). "
                      "The business manager has been told.")
    dms = teams.fake.of("create", f"a:dm-{BUSINESS_MANAGER}")[told_before:]
    [dm] = [d.body["text"] for d in dms]
    assert found.ref in dm and "not been acknowledged (repeat 1)" in dm and dm.startswith("🚨")
    assert "Evening [Post](https://evil.example) **now**" in dm  # the outlet as typed, plain text
    assert dms[0].body["textFormat"] == "plain"
    # The press office is not told again in person: only the core's unacknowledged audience.
    assert len(teams.fake.of("create", f"a:dm-{PRESS}")) == 1

    ack = next(b for b in buttons_of(card_of(alert)) if b["title"] == "Acknowledge")
    teams.execute(ack["verb"], ack["data"], PRESS, conversation=MEDIA_CHANNEL)
    teams.clock.advance(timedelta(minutes=75))  # two hours before the journalist's deadline
    assert chase_overdue(teams.core).media_steps == 1
    thread = texts(teams.fake.replies_to(alert.activity_id))
    assert thread[-1] == (f"⏰ {found.ref}: the journalist's deadline is in 120 minutes "
                          "(Mon 16 Nov 2026 13:30).")
    assert {r.conversation for r in teams.fake.of("reply")} == {MEDIA_CHANNEL}
    assert CANARY not in teams.fake.everything() and ENQUIRY["summary"] not in teams.fake.everything()


def test_a_reply_to_a_card_the_connector_does_not_know_is_logged_and_changes_nothing(
    teams: TeamsHarness, caplog: pytest.LogCaptureFixture,
) -> None:
    report(teams, deadline="2026-11-16", deadline__time="13:30")
    found = enquiry(teams)
    from bot import chat_posts

    with teams.core.transaction() as session:
        post = chat_posts.first_post(session, "teams", chat_posts.MEDIA, found.id)
        assert post is not None
        post.message_id = "not-an-activity"
        session.add(post)
    teams.clock.advance(timedelta(minutes=15))
    assert chase_overdue(teams.core).media_steps == 1  # the commit stands; the notifier logs
    assert teams.fake.of("reply") == []
    assert "teams notifier failed for media enquiry" in caplog.text and CANARY not in caplog.text
