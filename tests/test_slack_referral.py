"""/serious-incident and the referral form, through the real bolt App with signed requests."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.models import Case, Event
from handlers.slack.modals import check_modal
from tests.support.slack_api import SlackHarness, dated, picked, picked_many
from tests.support.slack_api import slack as slack  # the fixture
from tests.support.slack_api import slack_api as slack_api  # the fixture

PRACTITIONER = "UPRACT"


def referral_values(**over: object) -> dict[str, object]:
    values: dict[str, object] = {
        "referring_agency": picked("police"),
        "incident_date": dated("2026-11-20"),
        "la_aware_date": dated("2026-11-21"),
        "outcome": picked("serious-harm"),
        "abuse_neglect": picked("yes"),
        "legal_status": picked("cin"),
        "age_band": picked("1-4"),
        "agencies_involved": picked_many(["school", "icb"]),
        "parallel_processes": picked_many(["police-investigation"], "checkboxes"),
        "media_interest": picked("likely"),
    }
    values.update(over)
    return values


def cases(slack: SlackHarness) -> list[Case]:
    with slack.core.transaction() as session:
        return list(session.exec(select(Case).order_by(Case.id)))


def test_the_command_opens_the_referral_modal(slack: SlackHarness) -> None:
    response = slack.command("", user=PRACTITIONER)
    assert response.status == 200
    [call] = slack.api.of("views.open")
    assert call.body["trigger_id"].startswith("trigger-")
    view = json.loads(call.body["view"]) if isinstance(call.body["view"], str) else call.body["view"]
    assert view["callback_id"] == "si_referral"
    check_modal(view)
    block_ids = [b.get("block_id") for b in view["blocks"]]
    for wanted in ("referring_agency", "incident_date", "la_aware_date", "outcome", "abuse_neglect",
                   "legal_status", "age_band", "agencies_involved", "parallel_processes",
                   "media_interest"):
        assert wanted in block_ids
    assert "do not type names" in json.dumps(view).lower()
    assert "name" not in {b.get("block_id") for b in view["blocks"]}


def test_a_forged_signature_is_refused(slack: SlackHarness) -> None:
    response = slack.command("", user=PRACTITIONER, secret="not-the-secret")
    assert response.status == 401
    assert slack.api.of("views.open") == []


def test_submitting_the_referral_opens_a_case_tells_the_referrer_and_posts_the_card(
    slack: SlackHarness,
) -> None:
    response = slack.submit("si_referral", referral_values(), user=PRACTITIONER)
    assert response.status == 200 and response.body == ""
    [case] = cases(slack)
    assert case.referrer == f"slack:{PRACTITIONER}" and case.source == "slack"
    assert case.agencies_involved == ["school", "icb"] and case.age_band == "1-4"
    assert slack.post_of("case", case.id).conversation == "CBU" and slack.ts_of("case", case.id)
    dms = [c for c in slack.api.of("chat.postMessage") if c.body["channel"] == f"D{PRACTITIONER}"]
    assert len(dms) == 1 and case.ref in dms[0].body["text"]
    cards = [c for c in slack.api.of("chat.postMessage") if c.body["channel"] == "CBU"]
    assert len(cards) == 1 and case.ref in cards[0].body["text"]
    assert slack.api.of("conversations.open")[0].body["users"] == PRACTITIONER


def test_a_future_date_is_returned_as_a_form_error(slack: SlackHarness) -> None:
    response = slack.submit(
        "si_referral", referral_values(incident_date=dated("2026-12-01")), user=PRACTITIONER
    )
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert "future" in body["errors"]["incident_date"]
    assert cases(slack) == []


def test_missing_answers_are_form_errors(slack: SlackHarness) -> None:
    response = slack.submit("si_referral", referral_values(outcome=picked(None), age_band=picked(None)),
                            user=PRACTITIONER)
    errors = json.loads(response.body)["errors"]
    assert set(errors) == {"outcome", "age_band"}


def test_aware_before_incident_is_a_form_error(slack: SlackHarness) -> None:
    response = slack.submit(
        "si_referral", referral_values(la_aware_date=dated("2026-11-19")), user=PRACTITIONER
    )
    assert "la_aware_date" in json.loads(response.body)["errors"]


def test_help_status_and_list(slack: SlackHarness) -> None:
    slack.submit("si_referral", referral_values(), user=PRACTITIONER)
    [case] = cases(slack)
    slack.api.clear()
    slack.command("help", user=PRACTITIONER)
    slack.command(f"status {case.ref}", user=PRACTITIONER)
    slack.command("list", user=PRACTITIONER)
    slack.command("list", user="UBM")
    slack.command(f"status {case.ref}", user="UOTHER")
    replies = [c.body for c in slack.api.of("response")]
    assert len(replies) == 5
    assert "/serious-incident status REF" in replies[0]["text"]
    assert case.ref in replies[1]["text"] and replies[1]["blocks"]
    assert "actions" not in [b["type"] for b in replies[1]["blocks"]]
    assert case.ref in json.dumps(replies[2]["blocks"])
    assert case.ref in json.dumps(replies[3]["blocks"])
    assert case.ref not in replies[4]["text"].upper() or "no case" in replies[4]["text"]
    assert "blocks" not in replies[4]
    with slack.core.transaction() as session:
        refused = session.exec(select(Event).where(Event.kind == "action_refused")).all()
    assert [(e.actor, e.detail["action"]) for e in refused] == [("slack:UOTHER", "status")]
