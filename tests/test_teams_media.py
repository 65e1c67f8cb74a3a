"""Media enquiries in Teams (process.md 6): the dialog, the alert in the media channel with the
core's Acknowledge / Draft / Approve / Release, the DMs the core's fan-out names, and nothing the
journalist said in any post."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.clock import FixedClock
from bot.models import Event, MediaEnquiry
from tests.conftest import MONDAY_10
from tests.support.teams_connector import (
    BUSINESS_MANAGER,
    MEDIA_CHANNEL,
    TeamsConnector,
    TeamsHarness,
    buttons_of,
    card_of,
    dialog_card,
    inputs,
    submit_data,
)

PRESS = "aad-press-0001"
CHAIR = "aad-chair-0001"
REPORTER = "aad-teacher-0001"
CANARY = "CANARY-J0urnalist-Kim-07700900123"
ROLES = {
    "press_office": {"name": "Press", "email": "press@partnership.example", "teams_user_id": PRESS},
    "chair": {"name": "Chair", "email": "chair@partnership.example", "teams_user_id": CHAIR},
}
ENQUIRY = {"outlet": "Evening [Post](https://evil.example) **now**", "journalist": CANARY,
           "contact": CANARY + "@news.example", "deadline": "2026-11-17", "deadline__time": "15:00",
           "subject": "partnership", "summary": "asked about " + CANARY}


@pytest.fixture
def teams(tmp_path: Path, schema_database_url: str) -> Iterator[TeamsHarness]:
    clock = FixedClock(MONDAY_10)
    fake = TeamsConnector(now=clock.now).start()
    harness = TeamsHarness(fake, clock, tmp_path, schema_database_url, roles=ROLES)
    yield harness
    harness.close()
    fake.stop()


def report(teams: TeamsHarness, **over: str) -> dict:
    teams.say("media", REPORTER)
    [button] = card_of(teams.fake.of("create", "a:personal-1")[-1])["actions"]
    card = dialog_card(teams.fetch(button["data"], REPORTER))
    fields = inputs(card)
    assert fields["deadline"]["type"] == "Input.Date" and fields["deadline__time"]["type"] == "Input.Time"
    return teams.submit({**submit_data(card), **ENQUIRY, **over}, REPORTER)


def enquiry(teams: TeamsHarness) -> MediaEnquiry:
    with teams.core.transaction() as session:
        [found] = session.exec(select(MediaEnquiry))
        session.expunge(found)
        return found


def test_reporting_posts_the_alert_and_tells_the_people_the_core_names(teams: TeamsHarness) -> None:
    answer = report(teams)
    found = enquiry(teams)
    assert answer["task"]["type"] == "message"
    assert f"Your media enquiry is {found.ref}." in answer["task"]["value"]  # no asterisks in Teams
    assert found.journalist == CANARY and found.raised_by == f"teams:{REPORTER}"
    assert found.journalist_deadline is not None and found.journalist_deadline.hour == 15  # GMT in November
    [alert] = teams.fake.of("create", MEDIA_CHANNEL)
    assert teams.post_of("media", found.id).message_id == alert.activity_id
    titles = [b["title"] for b in buttons_of(card_of(alert))]
    assert titles[:4] == ["Acknowledge", "Draft statement", "Approve", "Release"]
    # The DMs: the press office and the business manager (and the spokesperson the routing names,
    # when they are in Teams); the reporter gets the reference in their own chat.
    told = {s.conversation for s in teams.fake.of("create") if s.conversation.startswith("a:dm-")}
    assert {f"a:dm-{PRESS}", f"a:dm-{BUSINESS_MANAGER}", f"a:dm-{REPORTER}"} <= told


def test_the_journalist_never_reaches_a_post_and_the_outlet_is_plain_text(teams: TeamsHarness) -> None:
    report(teams)
    everything = teams.fake.everything()
    assert CANARY not in everything and "Kim" not in everything and "07700900123" not in everything
    alert = card_of(teams.fake.of("create", MEDIA_CHANNEL)[0])
    assert "evil.example" not in str([e for e in alert["body"] if e["type"] == "TextBlock"])


def test_acknowledge_draft_and_release_from_the_alert(teams: TeamsHarness) -> None:
    report(teams)
    found = enquiry(teams)
    alert = card_of(teams.fake.of("create", MEDIA_CHANNEL)[0])
    buttons = {b["title"]: b for b in buttons_of(alert)}
    ack = buttons["Acknowledge"]
    result = teams.execute(ack["verb"], ack["data"], PRESS, conversation=MEDIA_CHANNEL)
    assert "acknowledged" in result["value"]
    assert enquiry(teams).acknowledged_by == f"teams:{PRESS}"
    assert len(teams.fake.of("update", MEDIA_CHANNEL)) == 1
    # The statement editor is a dialog (not a post), so it may show the text; saving is a version.
    editor = dialog_card(teams.fetch(buttons["Draft statement"]["data"], PRESS))
    saved = teams.submit({**submit_data(editor), "text": "The partnership is aware and will respond."},
                         PRESS)
    assert "version" in saved["task"]["value"]
    # A stale editor (someone saved meanwhile) is refused beside the field, keeping its version.
    stale = teams.submit({**submit_data(editor), "text": "Something else."}, PRESS)
    assert "saved meanwhile" in str(dialog_card(stale)["body"])
    # Approve belongs to the sign-off the routing names: anyone else is refused by the core.
    approve = buttons["Approve"]
    refused = teams.execute(approve["verb"], approve["data"], REPORTER, conversation=MEDIA_CHANNEL)
    assert refused["value"].startswith("only the sign-off the routing names")
    with teams.core.transaction() as session:
        kinds = [e.kind for e in session.exec(select(Event).where(Event.kind == "media_action_refused"))]
    assert kinds
    approved = teams.execute(approve["verb"], approve["data"], CHAIR, conversation=MEDIA_CHANNEL)
    assert "You approved version" in approved["value"]
    # Release asks first (the core's confirmation), then sends the statement (by email, the core).
    [release] = [b for b in buttons_of(alert) if b["type"] == "Action.ShowCard" and b["title"] == "Release"]
    assert "Send the approved statement" in str(release["card"]["body"])
    [send] = release["card"]["actions"]
    released = teams.execute(send["verb"], send["data"], PRESS, conversation=MEDIA_CHANNEL)
    assert "is released" in released["value"]
    assert enquiry(teams).status == "responded"
    assert CANARY not in teams.fake.everything()
    assert found.ref in str(card_of(teams.fake.of("update", MEDIA_CHANNEL)[-1]))


def test_the_media_list_and_status_are_for_the_media_team_in_a_personal_chat(teams: TeamsHarness) -> None:
    report(teams)
    found = enquiry(teams)
    teams.say("enquiries", PRESS)
    listing = card_of(teams.fake.of("create", "a:personal-1")[-1])
    assert found.ref in str(listing)
    teams.say(f"status {found.ref}", PRESS)
    assert "Acknowledge" in str(card_of(teams.fake.of("create", "a:personal-1")[-1]))
    teams.say("enquiries", "aad-stranger")
    assert "press office" in teams.fake.of("create", "a:personal-1")[-1].body["text"]
    assert CANARY not in teams.fake.everything()
