"""Replayed Slack requests act once (issue 9 item 5): the same signed view submission delivered
twice opens one case or one enquiry; the same event_id twice (Slack's retry) acts once."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from bot.models import Case, ChairAbsence, DoorRequest, Event, MediaEnquiry, MediaStatement
from tests.support.slack_api import NOW, SlackAPI, SlackHarness, picked, timed
from tests.support.slack_api import slack_api as slack_api  # the fixture
from tests.test_slack_privacy import enquiry_form
from tests.test_slack_referral import referral_values

COMMS, PRESS, PRACTITIONER = "CCOMMS", "UPRESS", "UPRACT"


@pytest.fixture
def slack(slack_api: SlackAPI, tmp_path: Path, schema_database_url: str) -> SlackHarness:
    return SlackHarness(slack_api, tmp_path, schema_database_url, comms_channel=COMMS,
                        roles={"press_office": {"slack_user_id": PRESS}})


def submission(callback_id: str, values: dict[str, Any], user: str, *, view_hash: str = "h1",
               meta: dict[str, Any] | None = None, view_id: str = "VREPLAY") -> str:
    """One signed-ready view submission body, to be delivered as the same bytes twice."""
    state = {block: {"value": element} for block, element in values.items()}
    return urlencode({"payload": json.dumps({
        "type": "view_submission", "user": {"id": user}, "team": {"id": "T0001"},
        "api_app_id": "A0001", "trigger_id": "trigger-replayed",
        "view": {"id": view_id, "hash": view_hash, "type": "modal", "callback_id": callback_id,
                 "private_metadata": json.dumps(meta or {}), "state": {"values": state}},
    })})


def deliver(slack: SlackHarness, body: str) -> None:
    response = slack.send(body, "application/x-www-form-urlencoded")
    assert response.status == 200 and response.body == "", response.body


def test_the_same_referral_submission_twice_opens_one_case(slack: SlackHarness, slack_api: SlackAPI) -> None:
    body = submission("si_referral", referral_values(), PRACTITIONER)
    deliver(slack, body)
    calls_after_first = len(slack_api.calls)
    deliver(slack, body)
    with slack.core.transaction() as session:
        assert [c.ref for c in session.exec(select(Case))] == ["SI-2026-0001"]
        assert [e.kind for e in session.exec(select(Event))].count("case_opened") == 1
        [door] = session.exec(select(DoorRequest))
    assert door.key == "slack-view:si_referral:VREPLAY:h1" and door.result["ref"] == "SI-2026-0001"
    assert len(slack_api.calls) == calls_after_first  # no second DM, no second card
    # A different view (or the same view after an update: a new hash) is a new request.
    deliver(slack, submission("si_referral", referral_values(), PRACTITIONER, view_hash="h2"))
    with slack.core.transaction() as session:
        assert len(list(session.exec(select(Case)))) == 2


def test_the_same_media_submission_twice_records_one_enquiry(
    slack: SlackHarness, slack_api: SlackAPI,
) -> None:
    body = submission("media_enquiry", enquiry_form("Evening Post"), PRACTITIONER)
    deliver(slack, body)
    alerts = [c for c in slack_api.of("chat.postMessage") if c.body["channel"] == COMMS]
    deliver(slack, body)
    with slack.core.transaction() as session:
        assert [e.ref for e in session.exec(select(MediaEnquiry))] == ["ME-2026-0001"]
    assert len(alerts) == 1
    assert [c for c in slack_api.of("chat.postMessage") if c.body["channel"] == COMMS] == alerts


def test_a_business_unit_form_replayed_acts_once(slack: SlackHarness) -> None:
    slack.submit("si_referral", referral_values(), user=PRACTITIONER)
    body = submission("si_close", {"reason": {"type": "plain_text_input", "value": "Duplicate"}},
                      "UBM", meta={"ref": "SI-2026-0001"})
    deliver(slack, body)
    deliver(slack, body)  # without the key this would be refused in the form: "already closed"
    with slack.core.transaction() as session:
        kinds = [e.kind for e in session.exec(select(Event))]
        stage = session.exec(select(Case)).one().stage
    assert stage == "closed" and kinds == ["case_opened", "stage_changed"]


def test_chair_away_and_statement_forms_replayed_act_once(slack: SlackHarness) -> None:
    body = submission("media_chair_away", {
        "starts_at": timed(NOW), "ends_at": timed(NOW + timedelta(days=1)), "delegate": picked(None),
    }, "UBM")
    deliver(slack, body)
    deliver(slack, body)
    with slack.core.transaction() as session:
        assert len(list(session.exec(select(ChairAbsence)))) == 1
    slack.submit("media_enquiry", enquiry_form("Evening Post"), user=PRACTITIONER)
    meta = {"ref": "ME-2026-0001", "version": None, "kind": "holding_statement"}
    body = submission("media_statement", {"text": {"type": "plain_text_input", "value": "We care."}},
                      PRESS, meta=meta, view_id="VSTATEMENT")
    deliver(slack, body)
    deliver(slack, body)  # without the key: "version 1 was saved meanwhile" in the form
    with slack.core.transaction() as session:
        assert [s.version for s in session.exec(select(MediaStatement))] == [1]


def test_the_same_event_id_twice_acts_once(slack: SlackHarness, slack_api: SlackAPI) -> None:
    event = {"type": "app_home_opened", "user": PRACTITIONER, "tab": "home", "channel": "DX"}
    for _ in range(2):  # Slack's retry (X-Slack-Retry-Num: 1) carries the same event_id
        response = slack.event(event, event_id="Ev0REPLAY")
        assert response.status == 200
    assert len(slack_api.of("views.publish")) == 1
    slack.event(event, event_id="Ev0OTHER")
    assert len(slack_api.of("views.publish")) == 2


def test_a_submission_without_a_view_id_still_works(slack: SlackHarness) -> None:
    # Defensive: a payload without view.id has no key and simply acts (nothing to dedupe on).
    values = referral_values(age_band=picked("5-10"))
    state = {block: {"value": element} for block, element in values.items()}
    response = slack.send(urlencode({"payload": json.dumps({
        "type": "view_submission", "user": {"id": PRACTITIONER}, "team": {"id": "T0001"},
        "api_app_id": "A0001", "view": {"type": "modal", "callback_id": "si_referral",
                                        "state": {"values": state}},
    })}), "application/x-www-form-urlencoded")
    assert response.status == 200
    with slack.core.transaction() as session:
        assert session.exec(select(Case)).one().age_band == "5-10"
