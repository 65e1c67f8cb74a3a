"""Replayed block actions and slash commands act once (decision 0018, addendum): the same signed
body delivered twice within Slack's five-minute signature window (a retry, a proxy, an attacker
who captured it) is answered with a quiet ack; two different clicks both act."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlmodel import select

from bot.models import ChairAbsence, DoorRequest, Event
from bot.models_retention import AccessLog
from bot.stages import Stage
from tests.support.slack_api import (
    BUSINESS_MANAGER,
    NOW,
    SlackAPI,
    SlackHarness,
    dated,
    picked,
    timed,
    typed,
)
from tests.support.slack_api import slack_api as slack_api  # the fixture
from tests.test_slack_case_card import refer, the_case
from tests.test_slack_media import (
    CHAIR,
    OTHER,
    PRACTITIONER,
    PRESS,
    dms_to,
    ephemerals,
    events,
    report,
    view_of,
)
from tests.test_slack_media import slack as slack  # the fixture (with the media roles)


def click(action_id: str, value: str, user: str, *, trigger: str,
          action_ts: str = "1700000000.000100", home: bool = False) -> str:
    """One block-action body as Slack signs it: the same string can be delivered twice."""
    where: dict[str, Any] = (
        {"container": {"type": "view", "view_id": "VHOME"}, "view": {"id": "VHOME", "type": "home"}}
        if home else
        {"container": {"type": "message", "channel_id": "CBU", "message_ts": "1.1"}, "channel": {"id": "CBU"}}
    )
    return urlencode({"payload": json.dumps({
        "type": "block_actions", "user": {"id": user}, "team": {"id": "T0001"}, "api_app_id": "A0001",
        "trigger_id": trigger, **where,
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value,
                     "action_ts": action_ts}],
    })})


def command(slack: SlackHarness, name: str, text: str, user: str, *, trigger: str) -> str:
    return urlencode({
        "token": "legacy", "team_id": "T0001", "team_domain": "example", "channel_id": "CPRACT",
        "user_id": user, "user_name": user.lower(), "command": name, "text": text, "api_app_id": "A0001",
        "trigger_id": trigger, "response_url": slack.api.url.replace("/api/", "/response/T0001/1/abc"),
    })


def deliver(slack: SlackHarness, body: str) -> None:
    response = slack.send(body, "application/x-www-form-urlencoded")
    assert response.status == 200 and response.body == "", response.body


def kinds(slack: SlackHarness) -> list[str]:
    with slack.core.transaction() as session:
        return [e.kind for e in session.exec(select(Event).order_by(Event.id))]  # type: ignore[arg-type]


def test_a_stage_button_replayed_moves_the_case_once(slack: SlackHarness, slack_api: SlackAPI) -> None:
    case = refer(slack)
    slack.press("case_accept", case.ref)
    slack.submit("si_accept", {"la_aware_date": dated("2026-11-21")}, meta={"ref": case.ref})
    assert the_case(slack).stage == Stage.SIN_PENDING
    before = kinds(slack)
    body = click("case_sin_submitted", case.ref, BUSINESS_MANAGER, trigger="trig-sin")
    deliver(slack, body)
    calls = len(slack_api.calls)
    deliver(slack, body)  # without the key: refused ("already past"), audited and told a second time
    assert the_case(slack).stage == Stage.INFO_GATHERING
    added = kinds(slack)[len(before):]
    assert "action_refused" not in added and added.count("stage_changed") == 1
    assert len(slack_api.calls) == calls  # no ephemeral, no card update for the replay
    with slack.core.transaction() as session:
        keys = [d.key for d in session.exec(select(DoorRequest))]
    assert f"slack-action:case_sin_submitted:{BUSINESS_MANAGER}:1700000000.000100:trig-sin" in keys


def test_acknowledging_a_media_alert_replayed_acts_once(slack: SlackHarness) -> None:
    found = report(slack)
    body = click("media_ack", found.ref, PRESS, trigger="trig-ack")
    deliver(slack, body)
    deliver(slack, body)  # without the key: "already acknowledged" told again
    assert len(events(slack, "media_acknowledged")) == 1
    assert ephemerals(slack, PRESS) == [f"{found.ref}: acknowledged"]
    # Another person's click is a new action: it is told that the alert was acknowledged already.
    deliver(slack, click("media_ack", found.ref, BUSINESS_MANAGER, trigger="trig-ack-2"))
    assert "already acknowledged" in ephemerals(slack, BUSINESS_MANAGER)[0]


def test_a_refused_click_replayed_is_audited_once_and_two_clicks_twice(slack: SlackHarness) -> None:
    found = report(slack)
    body = click("media_ack", found.ref, OTHER, trigger="trig-stranger")
    deliver(slack, body)
    deliver(slack, body)
    assert len(events(slack, "media_action_refused")) == 1 and len(ephemerals(slack, OTHER)) == 1
    # The same person clicking again is a new trigger_id and action_ts: refused (and audited) again.
    deliver(slack, click("media_ack", found.ref, OTHER, trigger="trig-stranger-2", action_ts="1700000001.0"))
    assert len(events(slack, "media_action_refused")) == 2 and len(ephemerals(slack, OTHER)) == 2


def test_an_approval_replayed_is_recorded_once(slack: SlackHarness) -> None:
    found = report(slack)
    slack.press("media_draft", found.ref, user=PRESS)
    meta = json.loads(view_of(slack.api.of("views.open")[-1].body)["private_metadata"])
    slack.submit("media_statement", {"text": typed("We will say more in time.")}, user=PRESS, meta=meta)
    body = click("media_approve", found.ref, CHAIR, trigger="trig-approve")
    deliver(slack, body)
    deliver(slack, body)
    assert len(events(slack, "media_statement_approved")) == 1
    assert events(slack, "media_action_refused") == []  # without the key: "already approved"
    told = ephemerals(slack, CHAIR)
    assert len(told) == 1 and "can now be released" in told[0]


def test_a_form_button_replayed_opens_one_form(slack: SlackHarness, slack_api: SlackAPI) -> None:
    case = refer(slack)
    body = click("case_accept", case.ref, BUSINESS_MANAGER, trigger="trig-form")
    deliver(slack, body)
    deliver(slack, body)
    assert len(slack_api.of("views.open")) == 1
    deliver(slack, click("case_accept", case.ref, BUSINESS_MANAGER, trigger="trig-form-2"))
    assert len(slack_api.of("views.open")) == 2


def test_the_same_slash_command_twice_opens_one_modal(slack: SlackHarness, slack_api: SlackAPI) -> None:
    body = command(slack, "/serious-incident", "", BUSINESS_MANAGER, trigger="trig-cmd")
    deliver(slack, body)
    deliver(slack, body)
    assert len(slack_api.of("views.open")) == 1
    deliver(slack, command(slack, "/serious-incident", "", BUSINESS_MANAGER, trigger="trig-cmd-2"))
    assert len(slack_api.of("views.open")) == 2


def test_a_status_command_replayed_reads_once(slack: SlackHarness, slack_api: SlackAPI) -> None:
    case = refer(slack)
    body = command(slack, "/serious-incident", f"status {case.ref}", BUSINESS_MANAGER, trigger="trig-st")
    deliver(slack, body)
    deliver(slack, body)
    answers: list[Any] = slack_api.of("response")
    assert len(answers) == 1 and case.ref in json.dumps(answers[0].body)
    with slack.core.transaction() as session:  # the read is in the access log once (process.md 8.4)
        assert len(list(session.exec(select(AccessLog)))) == 1
    deliver(slack, command(slack, "/media-enquiry", "help", PRESS, trigger="trig-st-2"))
    assert len(slack_api.of("response")) == 2


def test_app_home_buttons_replayed_act_once(slack: SlackHarness, slack_api: SlackAPI) -> None:
    refused = click("media_chair_away", "new", PRACTITIONER, trigger="trig-home-refused", home=True)
    deliver(slack, refused)
    deliver(slack, refused)
    assert len(events(slack, "media_action_refused")) == 1 and len(dms_to(slack, PRACTITIONER)) == 1
    slack.submit("media_chair_away", {"starts_at": timed(NOW), "ends_at": timed(NOW + timedelta(days=1)),
                                      "delegate": picked(None)}, meta={"home": True})
    with slack.core.transaction() as session:
        absence_id = session.exec(select(ChairAbsence)).one().id
    published = len(slack_api.of("views.publish"))
    body = click("media_absence_cancel", str(absence_id), BUSINESS_MANAGER, trigger="trig-cancel", home=True)
    deliver(slack, body)
    deliver(slack, body)  # without the key: refused ("already cancelled"), audited and told again
    assert len(events(slack, "chair_absence_cancelled")) == 1
    assert len(events(slack, "media_action_refused")) == 1
    assert len(slack_api.of("views.publish")) == published + 1
