"""Media enquiries in Slack (issue 4): /media-enquiry, the comms-channel alert and its buttons,
the fan-out, repeats, the Chair-away control, and the rule that nothing typed about the
journalist reaches any Slack call. Signed requests through the real bolt App, against the fake.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot import media, media_statements
from bot.cases import Referral, open_case
from bot.chasers import chase_overdue
from bot.media import EnquiryInput
from bot.models import ChairAbsence, Event, MediaEnquiry, MediaStatement
from handlers.slack.media_notifier import repost_missing_media_alerts
from handlers.slack.modals import check_modal
from tests.support.slack_api import (
    BUSINESS_MANAGER,
    NOW,
    SlackAPI,
    SlackHarness,
    picked,
    timed,
    typed,
)
from tests.support.slack_api import slack_api as slack_api  # the fixture

CHAIR, DEPUTY, PRESS, PRACTITIONER, OTHER = "UCHAIR", "UDEPUTY", "UPRESS", "UPRACT", "UOTHER"
COMMS = "CCOMMS"
# Typed into the form: each must reach the database and no Slack call, DM or log line.
JOURNALIST, CONTACT = "Jane Sentinelreporter", "sentinel.desk@news.example"
SUMMARY = "Asked about Sentinelcase"
STATEMENT_WORDS = "Our thoughts are with everyone affected"


@pytest.fixture
def slack(slack_api: SlackAPI, tmp_path: Path, schema_database_url: str) -> SlackHarness:
    return SlackHarness(slack_api, tmp_path, schema_database_url, comms_channel=COMMS, roles={
        "chair": {"slack_user_id": CHAIR},
        "deputy_chair": {"slack_user_id": DEPUTY},
        "press_office": {"slack_user_id": PRESS},
    })


def enquiry_values(**over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "outlet": typed("Evening Post"),
        "journalist": typed(JOURNALIST),
        "contact": typed(CONTACT),
        "deadline": timed(NOW + timedelta(hours=3)),
        "subject": picked("case"),
        "case_ref": typed(""),
        "subject_agency": picked(None),
        "raising_agency": picked("police"),
        "summary": typed(SUMMARY),
    }
    values.update(over)
    return values


def report(slack: SlackHarness, **over: Any) -> MediaEnquiry:
    response = slack.submit("media_enquiry", enquiry_values(**over), user=PRACTITIONER)
    assert response.status == 200 and response.body == "", response.body
    with slack.core.transaction() as session:
        return session.exec(select(MediaEnquiry).order_by(MediaEnquiry.id.desc())).first()  # type: ignore[union-attr]


def enquiry(slack: SlackHarness, ref: str = "ME-2026-0001") -> MediaEnquiry:
    with slack.core.transaction() as session:
        return media.get_enquiry(session, ref)


def events(slack: SlackHarness, kind: str) -> list[Event]:
    with slack.core.transaction() as session:
        return list(session.exec(select(Event).where(Event.kind == kind).order_by(Event.id)))


def blocks_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("blocks") or []
    return json.loads(raw) if isinstance(raw, str) else raw


def view_of(call_body: dict[str, Any]) -> dict[str, Any]:
    view = call_body["view"]
    return json.loads(view) if isinstance(view, str) else view


def alert_updates(slack: SlackHarness, found: MediaEnquiry) -> list[str]:
    return [json.dumps(blocks_of(c.body)) for c in slack.api.of("chat.update")
            if c.body["ts"] == slack.ts_of("media", found.id)]


def dms_to(slack: SlackHarness, user: str) -> list[str]:
    return [c.body["text"] for c in slack.api.of("chat.postMessage") if c.body["channel"] == f"D{user}"]


def ephemerals(slack: SlackHarness, user: str) -> list[str]:
    return [c.body["text"] for c in slack.api.of("chat.postEphemeral") if c.body["user"] == user]


def test_the_command_opens_the_enquiry_modal(slack: SlackHarness) -> None:
    slack.command("", user=PRACTITIONER, name="/media-enquiry")
    [call] = slack.api.of("views.open")
    view = view_of(call.body)
    check_modal(view)
    assert view["callback_id"] == "media_enquiry"
    ids = [b.get("block_id") for b in view["blocks"]]
    for wanted in ("outlet", "journalist", "contact", "deadline", "subject", "case_ref",
                   "subject_agency", "raising_agency", "summary"):
        assert wanted in ids
    deadline = next(b for b in view["blocks"] if b.get("block_id") == "deadline")
    assert deadline["element"]["type"] == "datetimepicker"
    subjects = next(b for b in view["blocks"] if b.get("block_id") == "subject")["element"]["options"]
    assert [o["value"] for o in subjects] == list(media.SUBJECTS)


def test_a_report_creates_the_enquiry_posts_the_alert_and_tells_the_people_who_must_know(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with slack.core.transaction() as session:
        case = open_case(session, slack.core, Referral(referring_agency="police"), actor="cli:bm",
                         source="cli")
        case_ref = case.ref
    found = report(slack, case_ref=typed(case_ref.lower()))
    assert found.ref == "ME-2026-0001" and found.source == "slack"
    assert (found.journalist, found.contact, found.summary) == (JOURNALIST, CONTACT, SUMMARY)
    assert found.raised_by == f"slack:{PRACTITIONER}" and found.raising_agency == "police"
    # The alert in the comms channel: posted once, remembered, time to notify recorded.
    [alert] = [c.body for c in slack.api.of("chat.postMessage") if c.body["channel"] == COMMS]
    post = slack.post_of("media", found.id)
    assert post.conversation == COMMS and post.message_id and post.posted_at == NOW
    text = json.dumps(blocks_of(alert))
    for fact in ("ME-2026-0001", "Evening Post", case_ref, "A specific incident, case or review",
                 "row 1", "Speaks: Chair", f"<@{CHAIR}>", "Signs off", "Holding statement",
                 "SW-COMMS", "Waiting for someone to acknowledge", "Mon 23 Nov 2026 13:00"):
        assert fact in text, fact
    buttons = [e["action_id"] for b in blocks_of(alert) if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["media_ack", "media_draft", "media_approve", "media_release", "media_press_release"]
    # DMs: the spokesperson, the press office, the business manager; the raiser gets M-2.
    for user in (CHAIR, PRESS, BUSINESS_MANAGER):
        [dm] = dms_to(slack, user)
        assert "ME-2026-0001" in dm and f"<#{COMMS}>" in dm
    [thanks] = dms_to(slack, PRACTITIONER)
    assert "ME-2026-0001" in thanks and "M-2" in thanks and "yourselves" in thanks
    # The case's thread hears of it in one fixed line.
    replies = [c.body["text"] for c in slack.api.of("chat.postMessage")
               if c.body["channel"] == "CBU" and c.body.get("thread_ts")]
    assert replies == [f"{case_ref}: media enquiry ME-2026-0001 received (routing row 1)."]
    # Nothing typed about the journalist went to Slack or to a log line.
    sent, logged = slack.api.everything_sent().lower(), caplog.text.lower()
    for secret in (JOURNALIST, CONTACT, SUMMARY, "sentinel"):
        assert secret.lower() not in sent and secret.lower() not in logged


@pytest.mark.parametrize(("over", "field", "words"), [
    ({"deadline": timed(NOW - timedelta(minutes=5))}, "deadline", "passed"),
    ({"subject": picked("agency")}, "subject_agency", "agency"),
    ({"case_ref": typed("SI-2026-0999")}, "case_ref", "no case"),
    ({"journalist": typed("")}, "journalist", "name"),
    ({"deadline": timed(None)}, "deadline", "deadline"),
])
def test_bad_input_comes_back_on_the_right_field(
    slack: SlackHarness, over: dict[str, Any], field: str, words: str,
) -> None:
    response = slack.submit("media_enquiry", enquiry_values(**over), user=PRACTITIONER)
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == [field] and words in body["errors"][field].lower()
    with slack.core.transaction() as session:
        assert session.exec(select(MediaEnquiry)).first() is None
    assert slack.api.of("chat.postMessage") == []


def test_acknowledge_by_the_press_office_updates_the_alert_and_a_stranger_is_refused(
    slack: SlackHarness,
) -> None:
    found = report(slack)
    slack.api.clear()
    slack.press("media_ack", found.ref, user=OTHER)
    assert "press office" in ephemerals(slack, OTHER)[0]
    assert slack.api.of("chat.update") == [] and enquiry(slack).status == "open"
    [refused] = events(slack, "media_action_refused")
    assert refused.actor == f"slack:{OTHER}" and refused.detail["action"] == "ack"
    assert refused.detail["media_ref"] == found.ref

    slack.press("media_ack", found.ref, user=PRESS)
    assert enquiry(slack).status == "acknowledged"
    [update] = alert_updates(slack, found)
    assert f"Acknowledged by <@{PRESS}>" in update and "media_ack" not in update
    slack.press("media_ack", found.ref, user=BUSINESS_MANAGER)
    assert "already acknowledged" in ephemerals(slack, BUSINESS_MANAGER)[0]


def test_draft_edit_approve_by_the_chair_only_then_release(slack: SlackHarness) -> None:
    found = report(slack)
    slack.press("media_draft", found.ref, user=PRESS)
    view = view_of(slack.api.of("views.open")[-1].body)
    check_modal(view)
    assert view["callback_id"] == "media_statement"
    [text_block] = [b for b in view["blocks"] if b.get("block_id") == "text"]
    draft = text_block["element"]["initial_value"]
    assert STATEMENT_WORDS in draft
    meta = json.loads(view["private_metadata"])
    assert meta == {"ref": found.ref, "version": 1, "kind": "holding_statement"}
    slack.submit("media_statement", {"text": typed(draft + "\nWe will say more in time.")},
                 user=PRESS, meta=meta)
    assert "version 2" in alert_updates(slack, found)[-1]

    slack.press("media_approve", found.ref, user=PRESS)  # the press office does not sign off row 1
    assert "only the sign-off" in ephemerals(slack, PRESS)[-1]
    assert [e.detail["action"] for e in events(slack, "media_action_refused")] == ["approve"]
    slack.press("media_release", found.ref, user=PRESS)
    assert "not approved yet" in ephemerals(slack, PRESS)[-1]

    slack.press("media_approve", found.ref, user=CHAIR)
    assert "can now be released" in ephemerals(slack, CHAIR)[-1]
    assert "approved, ready to release" in alert_updates(slack, found)[-1]
    slack.press("media_release", found.ref, user=PRESS)
    with slack.core.transaction() as session:
        statement = media_statements.latest_statement(session, media.get_enquiry(session, found.ref))
        assert statement is not None and statement.status == "released" and statement.version == 2
        assert statement.approvals[0]["actor"] == f"slack:{CHAIR}"
    assert enquiry(slack).status == "responded"
    assert "Responded" in alert_updates(slack, found)[-1]
    # The statement was shown in the editor (a modal), never in a post or a DM.
    posts = json.dumps([c.body for c in slack.api.calls if c.method.startswith("chat.")])
    assert STATEMENT_WORDS not in posts


def test_a_stale_edit_is_refused_in_the_form(slack: SlackHarness) -> None:
    found = report(slack)
    slack.press("media_draft", found.ref, user=PRESS)
    meta = json.loads(view_of(slack.api.of("views.open")[-1].body)["private_metadata"])
    slack.submit("media_statement", {"text": typed("First edit.")}, user=BUSINESS_MANAGER, meta=meta)
    response = slack.submit("media_statement", {"text": typed("Second edit.")}, user=PRESS, meta=meta)
    assert "saved meanwhile" in json.loads(response.body)["errors"]["text"]
    forged = slack.submit("media_statement", {"text": typed("x")}, user=OTHER, meta=meta)
    assert json.loads(forged.body)["response_action"] == "errors"
    with slack.core.transaction() as session:
        assert len(list(session.exec(select(MediaStatement)))) == 2


def test_a_press_release_before_publication_is_refused_citing_m5(slack: SlackHarness) -> None:
    found = report(slack)
    slack.api.clear()
    slack.press("media_press_release", found.ref, user=PRESS)
    [told] = ephemerals(slack, PRESS)
    assert "M-5" in told and "published" in told
    assert slack.api.of("views.open") == [] and slack.api.of("chat.update") == []
    [refused] = events(slack, "media_action_refused")
    assert refused.detail["rule"] == "M-5" and refused.detail["action"] == "press_release"
    with slack.core.transaction() as session:
        assert session.exec(select(MediaStatement)).first() is None


def test_an_unacknowledged_alert_repeats_in_the_thread_and_to_the_business_manager(
    slack: SlackHarness,
) -> None:
    found = report(slack)
    slack.api.clear()
    slack.clock.advance(timedelta(minutes=15))
    assert chase_overdue(slack.core).media_steps == 1
    ts = slack.ts_of("media", found.id)
    [reply] = [c.body for c in slack.api.of("chat.postMessage") if c.body.get("thread_ts") == ts]
    assert reply["channel"] == COMMS and ":rotating_light:" in reply["text"] and found.ref in reply["text"]
    [dm] = dms_to(slack, BUSINESS_MANAGER)
    assert found.ref in dm and "not been acknowledged" in dm
    assert "repeated 1 time" in alert_updates(slack, found)[-1]
    slack.press("media_ack", found.ref, user=PRESS)
    slack.clock.advance(timedelta(minutes=75))  # 2 hours before the deadline
    assert chase_overdue(slack.core).media_steps == 1
    texts = [c.body["text"] for c in slack.api.of("chat.postMessage") if c.body.get("thread_ts")]
    assert any(":alarm_clock:" in t and "120 minutes" in t for t in texts)
    assert JOURNALIST not in slack.api.everything_sent()


def test_chair_away_from_app_home_then_the_next_alert_names_the_deputy(slack: SlackHarness) -> None:
    slack.event({"type": "app_home_opened", "user": BUSINESS_MANAGER, "channel": "DHOME", "tab": "home"})
    home = json.dumps(view_of(slack.api.of("views.publish")[-1].body))
    assert "Media enquiries" in home and "media_chair_away" in home and "the Chair speaks" in home

    slack.press("media_chair_away", "new", user=PRACTITIONER, home=True)
    assert slack.api.of("views.open") == []
    assert [e.detail["action"] for e in events(slack, "media_action_refused")] == ["chair_away"]

    slack.press("media_chair_away", "new", user=BUSINESS_MANAGER, home=True)
    modal = view_of(slack.api.of("views.open")[-1].body)
    check_modal(modal)
    assert modal["callback_id"] == "media_chair_away"
    bad = slack.submit("media_chair_away", {"starts_at": timed(NOW), "ends_at": timed(NOW),
                                            "delegate": picked(None)}, meta={"home": True})
    assert "end after it starts" in json.loads(bad.body)["errors"]["ends_at"]
    slack.submit("media_chair_away", {"starts_at": timed(NOW - timedelta(hours=1)),
                                      "ends_at": timed(NOW + timedelta(days=2)), "delegate": picked(None)},
                 meta={"home": True})
    [absence] = events(slack, "chair_absence_set")
    assert absence.actor == f"slack:{BUSINESS_MANAGER}"
    home = json.dumps(view_of(slack.api.of("views.publish")[-1].body))
    assert "media_absence_cancel" in home and "stands in" in home

    found = report(slack)
    alert = next(c.body for c in slack.api.of("chat.postMessage") if c.body["channel"] == COMMS)
    text = json.dumps(blocks_of(alert))
    assert "Speaks: Deputy Chair" in text and f"<@{DEPUTY}>" in text and "not available" in text
    assert dms_to(slack, DEPUTY) and not dms_to(slack, CHAIR)
    assert found.routing["spokesperson"]["role"] == "deputy_chair"

    with slack.core.transaction() as session:
        absence_id = session.exec(select(ChairAbsence)).one().id
    slack.press("media_absence_cancel", str(absence_id), user=OTHER, home=True)
    slack.press("media_absence_cancel", str(absence_id), user=BUSINESS_MANAGER, home=True)
    with slack.core.transaction() as session:
        assert session.exec(select(ChairAbsence)).one().cancelled_by == f"slack:{BUSINESS_MANAGER}"
    assert "cancel_chair_absence" in [e.detail["action"] for e in events(slack, "media_action_refused")]
    home = json.dumps(view_of(slack.api.of("views.publish")[-1].body))
    assert "ME-2026-0001" in home and "Evening Post" in home and JOURNALIST not in home


def test_sub_commands_help_list_and_status(slack: SlackHarness) -> None:
    found = report(slack)
    slack.api.clear()
    for user, text in [(PRACTITIONER, "help"), (PRACTITIONER, "list"), (PRESS, "list"),
                       (PRACTITIONER, f"status {found.ref}"), (OTHER, f"status {found.ref}"),
                       (CHAIR, f"status {found.ref.lower()}")]:
        slack.command(text, user=user, name="/media-enquiry")
    replies = [c.body for c in slack.api.of("response")]
    assert "/media-enquiry status" in replies[0]["text"] and "M-2" in replies[0]["text"]
    assert "press office" in replies[1]["text"] and "blocks" not in replies[1]
    assert found.ref in json.dumps(replies[2]["blocks"])
    assert found.ref in replies[3]["text"] and "blocks" not in replies[3]  # the raiser: status only
    assert "no media enquiry" in replies[4]["text"]
    assert "Speaks" in json.dumps(replies[5]["blocks"]) and "media_ack" not in json.dumps(replies[5])
    refused = [(e.actor, e.detail["action"]) for e in events(slack, "media_action_refused")]
    assert refused == [(f"slack:{PRACTITIONER}", "list"), (f"slack:{OTHER}", "status")]
    assert JOURNALIST not in slack.api.everything_sent()


def test_the_notifier_never_raises_and_missing_alerts_are_reposted(slack: SlackHarness) -> None:
    slack.api.fail["chat.postMessage"] = "channel_not_found"
    with slack.core.transaction() as session:
        media.receive_enquiry(session, slack.core, EnquiryInput(
            outlet="Radio Example", subject="partnership", journalist=JOURNALIST, contact=CONTACT,
        ), actor="press.office@borough.example", source="email")
    assert slack.post_of("media", enquiry(slack).id) is None
    del slack.api.fail["chat.postMessage"]
    assert repost_missing_media_alerts(slack.core, slack.client, slack.settings) == 1
    assert slack.post_of("media", enquiry(slack).id).conversation == COMMS and dms_to(slack, PRESS)
    assert repost_missing_media_alerts(slack.core, slack.client, slack.settings) == 0
    assert JOURNALIST not in slack.api.everything_sent()


def test_the_alert_is_posted_by_the_notifier_alone(slack: SlackHarness) -> None:
    """One code path posts an alert (issue 11): the handlers never post it themselves; without
    the Slack notifier (Slack down when it was reported) the tick's re-post does."""
    from bot.core import NullNotifier

    slack.core.notifiers = [NullNotifier()]
    found = report(slack)
    assert slack.post_of("media", found.id) is None
    assert [c for c in slack.api.of("chat.postMessage") if c.body["channel"] == COMMS] == []
    assert dms_to(slack, PRACTITIONER)  # the raiser's thank-you is the door's answer, not a post
    assert repost_missing_media_alerts(slack.core, slack.client, slack.settings) == 1
    assert slack.post_of("media", enquiry(slack).id).conversation == COMMS and dms_to(slack, PRESS)
