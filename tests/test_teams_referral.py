"""The Teams door end to end: signed activities over HTTP into the real endpoint, the core on the
test database, and the fake Bot Connector recording what the bot posts (issue 11 item 5)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.models import Case, Event
from tests.support.teams_connector import (
    BU_CHANNEL,
    TeamsHarness,
    buttons_of,
    card_of,
    dialog_card,
    inputs,
    submit_data,
)

PRACTITIONER = "aad-practitioner-1"
REFERRAL = {
    "referring_agency": "police", "incident_date": "2026-11-12", "la_aware_date": "2026-11-13",
    "outcome": "serious-harm", "abuse_neglect": "yes", "legal_status": "cin", "age_band": "1-4",
    "agencies_involved": "school,icb", "parallel_processes": "police-investigation",
    "media_interest": "likely",
}


def cases(teams: TeamsHarness) -> list[Case]:
    with teams.core.transaction() as session:
        return list(session.exec(select(Case).order_by(Case.id)))


def refer(teams: TeamsHarness, aad: str = PRACTITIONER, **over: str) -> dict:
    card = dialog_card(teams.fetch({"rb": {"use": "refer"}}, aad))
    return teams.submit({**submit_data(card), **REFERRAL, **over}, aad)


def test_the_referral_command_offers_the_dialog_and_the_dialog_is_the_core_form(teams: TeamsHarness) -> None:
    assert teams.say("refer", PRACTITIONER).status_code == 200
    [offer] = teams.fake.of("create", "a:personal-1")
    [button] = card_of(offer)["actions"]
    assert button["data"]["msteams"] == {"type": "task/fetch"} and button["data"]["rb"] == {"use": "refer"}
    card = dialog_card(teams.fetch(button["data"], PRACTITIONER))
    fields = inputs(card)
    for wanted in REFERRAL:
        assert wanted in fields
    assert fields["agencies_involved"]["isMultiSelect"] is True
    assert fields["incident_date"]["type"] == "Input.Date" and fields["referring_agency"]["isRequired"]
    assert "do not type names" in str(card).lower()
    assert not {"name", "child_name", "dob", "address", "narrative"} & set(fields)


def test_submitting_opens_a_case_tells_the_referrer_and_posts_the_card(teams: TeamsHarness) -> None:
    answer = refer(teams)
    [case] = cases(teams)
    assert answer["task"]["type"] == "message" and case.ref in answer["task"]["value"]
    # The core's emphasis is drawn by Slack only: Teams shows the reference, not asterisks.
    assert f"Your serious incident referral is {case.ref}." in answer["task"]["value"]
    assert case.referrer == f"teams:{PRACTITIONER}"
    assert case.agencies_involved == ["school", "icb"] and case.age_band == "1-4"
    # The card, in the business unit's channel, remembered as a ChatPost row.
    [posted] = teams.fake.of("create", BU_CHANNEL)
    assert teams.post_of("case", case.id).message_id == posted.activity_id
    card = card_of(posted)
    assert case.ref in str(card)
    assert {b["title"] for b in buttons_of(card)} >= {"Accept (criteria met)", "Criteria not met"}
    # The referrer's acknowledgement, in their 1:1 chat (as Slack DMs it).
    [dm] = teams.fake.of("create", f"a:dm-{PRACTITIONER}")
    assert case.ref in dm.body["text"] and dm.body["textFormat"] == "plain" and "*" not in dm.body["text"]


def test_a_form_error_comes_back_beside_its_field_with_what_was_typed(teams: TeamsHarness) -> None:
    answer = refer(teams, incident_date="2026-12-25")
    card = dialog_card(answer)
    assert cases(teams) == []
    texts = [str(e) for e in card["body"]]
    at = next(i for i, e in enumerate(card["body"]) if e.get("id") == "incident_date")
    assert "future" in texts[at + 1].lower()
    assert inputs(card)["incident_date"]["value"] == "2026-12-25"
    assert inputs(card)["referring_agency"]["value"] == "police"


def test_a_redelivered_submit_acts_once(teams: TeamsHarness) -> None:
    card = dialog_card(teams.fetch({"rb": {"use": "refer"}}, PRACTITIONER))
    data = {**submit_data(card), **REFERRAL}
    first = teams.submit(data, PRACTITIONER, activity_id="f:same-activity")
    again = teams.submit(data, PRACTITIONER, activity_id="f:same-activity")
    assert len(cases(teams)) == 1
    assert first["task"]["value"] == again["task"]["value"]
    assert len(teams.fake.of("create", BU_CHANNEL)) == 1
    assert len(teams.fake.of("create", f"a:dm-{PRACTITIONER}")) == 1


def test_the_business_unit_works_the_case_from_the_card_and_the_card_updates_in_place(
    teams: TeamsHarness,
) -> None:
    refer(teams)
    [case] = cases(teams)
    card = card_of(teams.fake.of("create", BU_CHANNEL)[0])
    [accept] = [b for b in buttons_of(card) if b["title"].startswith("Accept")]
    assert accept["data"]["msteams"] == {"type": "task/fetch"}
    form = dialog_card(teams.fetch(accept["data"]))
    assert "la_aware_date" in inputs(form)
    answer = teams.submit({**submit_data(form), "la_aware_date": "2026-11-13"})
    assert answer["task"]["type"] == "message"
    assert cases(teams)[0].stage == "sin_pending"
    [update] = teams.fake.of("update", BU_CHANNEL)
    assert update.activity_id == teams.post_of("case", case.id).message_id
    # A button without a form, behind the core's confirmation question.
    updated = card_of(update)
    [show] = [b for b in buttons_of(updated) if b["type"] == "Action.ShowCard"]
    assert case.ref in str(show["card"]["body"])
    [record] = show["card"]["actions"]
    result = teams.execute(record["verb"], record["data"])
    assert result["statusCode"] == 200 and case.ref in result["value"]
    assert cases(teams)[0].stage == "info_gathering"
    assert len(teams.fake.of("update", BU_CHANNEL)) == 2
    assert len(teams.fake.of("create", BU_CHANNEL)) == 1  # still one card


def test_someone_outside_the_business_unit_is_refused_by_the_core_and_it_is_audited(
    teams: TeamsHarness,
) -> None:
    refer(teams)
    [case] = cases(teams)
    answer = teams.fetch({"rb": {"use": "case", "ref": case.ref, "action": "accept"}}, PRACTITIONER)
    assert answer["task"]["type"] == "message" and "business unit" in answer["task"]["value"]
    result = teams.execute("close", {"rb": {"use": "case", "ref": case.ref, "action": "close"}}, PRACTITIONER)
    assert "business unit" in result["value"]
    with teams.core.transaction() as session:
        refused = list(session.exec(select(Event).where(Event.kind == "action_refused")))
    assert {e.actor for e in refused} == {f"teams:{PRACTITIONER}"} and len(refused) >= 2
    assert cases(teams)[0].stage == "referral_received"


def test_the_personal_view_board_and_status(teams: TeamsHarness) -> None:
    refer(teams)
    [case] = cases(teams)
    teams.fake.clear()
    teams.say("board")
    [board] = teams.fake.of("create", "a:personal-1")
    assert case.ref in str(card_of(board)) and "Open cases" in str(card_of(board))
    teams.say("board", PRACTITIONER)
    own = teams.fake.of("create", "a:personal-1")[-1]
    assert "Your serious incident referrals" in str(card_of(own)) and case.ref in str(card_of(own))
    teams.say(f"status {case.ref}", PRACTITIONER)
    status = card_of(teams.fake.of("create", "a:personal-1")[-1])
    assert case.ref in str(status) and buttons_of(status) == []  # the referrer may not act on it
    teams.say("status SI-2026-9999", PRACTITIONER)
    assert "There is no case" in teams.fake.of("create", "a:personal-1")[-1].body["text"]
    teams.say("triage")
    assert "Triage: mail to look at" in str(card_of(teams.fake.of("create", "a:personal-1")[-1]))
    teams.say("triage", PRACTITIONER)  # the core refuses, and says why
    assert "business unit" in teams.fake.of("create", "a:personal-1")[-1].body["text"]


def test_in_a_channel_only_the_forms_are_offered(teams: TeamsHarness) -> None:
    refer(teams)
    teams.fake.clear()
    teams.say("<at>review-bot</at> board", conversation=BU_CHANNEL, conversation_type="channel")
    [answer] = teams.fake.of("create", BU_CHANNEL)
    assert "personal chat" in answer.body["text"] and "SI-" not in answer.body["text"]
    teams.say("<at>review-bot</at> refer", conversation=BU_CHANNEL, conversation_type="channel")
    assert "Open the referral form" in str(teams.fake.of("create", BU_CHANNEL)[-1].body)


def test_a_card_missing_after_an_outage_is_posted_by_the_sweep(teams: TeamsHarness) -> None:
    teams.fake.fail_next = [500, 500, 500]  # the connector is down when the case opens
    refer(teams)
    [case] = cases(teams)
    assert teams.post_of("case", case.id) is None
    teams.fake.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    assert teams.app.notifier.repost_missing() == 1
    assert teams.post_of("case", case.id) is not None
    assert teams.app.notifier.repost_missing() == 0
