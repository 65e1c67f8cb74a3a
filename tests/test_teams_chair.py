"""The Chair's absence in the Teams personal view (process.md 6.3; SOM l.234-236): the media
team's list shows it with the core's Cancel and "Chair away" actions; the core authorises and
audits; the next enquiry names the stand-in. Signed HTTP into the real endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.clock import FixedClock
from bot.models import ChairAbsence, Event, MediaEnquiry
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
from tests.test_teams_media import ROLES, report

DEPUTY = "aad-deputy-0001"
PRACTITIONER = "aad-teacher-0001"
PERSONAL = "a:personal-1"


@pytest.fixture
def teams(tmp_path: Path, schema_database_url: str) -> Iterator[TeamsHarness]:
    clock = FixedClock(MONDAY_10)
    fake = TeamsConnector(now=clock.now).start()
    roles = {**ROLES, "deputy_chair": {"name": "Deputy", "email": "deputy@partnership.example",
                                       "teams_user_id": DEPUTY}}
    harness = TeamsHarness(fake, clock, tmp_path, schema_database_url, roles=roles)
    yield harness
    harness.close()
    fake.stop()


def media_list(teams: TeamsHarness, aad: str = BUSINESS_MANAGER) -> dict:
    teams.say("enquiries", aad)
    return card_of(teams.fake.of("create", PERSONAL)[-1])


def refusals(teams: TeamsHarness) -> list[str]:
    with teams.core.transaction() as session:
        found = session.exec(select(Event).where(Event.kind == "media_action_refused"))
        return [str(e.detail["action"]) for e in found]


def absences(teams: TeamsHarness) -> list[ChairAbsence]:
    with teams.core.transaction() as session:
        found = list(session.exec(select(ChairAbsence)))
        for a in found:
            session.expunge(a)
        return found


def test_chair_away_from_the_personal_view_then_the_next_alert_names_the_deputy(teams: TeamsHarness) -> None:
    listing = media_list(teams)
    assert "The Chair's absence" in str(listing) and "No absence recorded: the Chair speaks." in str(listing)
    [away] = [b for b in buttons_of(listing) if b["title"] == "Chair away"]
    assert away["data"]["msteams"] == {"type": "task/fetch"}
    assert away["data"]["rb"] == {"use": "chair", "action": "chair_away"}

    # Someone outside the media team: the core refuses the form and audits it.
    refused = teams.fetch(away["data"], PRACTITIONER)
    assert refused["task"]["type"] == "message" and "press office" in refused["task"]["value"]
    assert refusals(teams) == ["chair_away"]

    form = dialog_card(teams.fetch(away["data"]))
    fields = inputs(form)
    assert fields["starts_at"]["type"] == "Input.Date" and fields["ends_at__time"]["type"] == "Input.Time"
    assert {c["value"] for c in fields["delegate"]["choices"]} >= {"deputy_chair"}
    # The core's check comes back beside its field.
    bad = teams.submit({**submit_data(form), "starts_at": "2026-11-16", "starts_at__time": "09:00",
                        "ends_at": "2026-11-16", "ends_at__time": "09:00"})
    assert "end after it starts" in str(dialog_card(bad)["body"])
    done = teams.submit({**submit_data(form), "starts_at": "2026-11-16", "starts_at__time": "09:00",
                         "ends_at": "2026-11-18", "ends_at__time": "17:00"})
    assert done["task"] == {"type": "message", "value": "#1: the Chair is away"}
    [absence] = absences(teams)
    assert absence.created_by == f"teams:{BUSINESS_MANAGER}" and absence.cancelled_at is None

    # The next enquiry is routed to the Deputy, who is told in Teams; the Chair is not.
    report(teams)
    with teams.core.transaction() as session:
        enquiry = session.exec(select(MediaEnquiry)).one()
        assert enquiry.routing["spokesperson"]["role"] == "deputy_chair"
    alert = card_of(teams.fake.of("create", MEDIA_CHANNEL)[0])
    assert "Deputy" in str(alert) and "the Chair is not available" in str(alert)
    assert teams.fake.of("create", f"a:dm-{DEPUTY}") and not teams.fake.of("create", "a:dm-aad-chair-0001")


def test_cancel_from_the_personal_view_replaces_the_list_and_is_for_the_media_team(
    teams: TeamsHarness,
) -> None:
    form = dialog_card(teams.fetch({"rb": {"use": "chair", "action": "chair_away"}}))
    teams.submit({**submit_data(form), "starts_at": "2026-11-17", "starts_at__time": "09:00",
                  "ends_at": "2026-11-20", "ends_at__time": "17:00", "delegate": "deputy_chair"})
    [absence] = absences(teams)
    listing = media_list(teams)
    assert "Deputy Chair (Deputy) stands in" in str(listing) and "Now: " not in str(listing)
    [ask] = [b for b in buttons_of(listing) if b["type"] == "Action.ShowCard" and b["title"] == "Cancel"]
    assert "New enquiries will name the Chair again" in str(ask["card"]["body"])
    [cancel] = ask["card"]["actions"]
    assert cancel["data"]["rb"] == {"use": "chair", "action": "absence_cancel", "item": absence.id}

    refused = teams.execute(cancel["verb"], cancel["data"], PRACTITIONER, conversation=PERSONAL)
    assert refused["type"] == "application/vnd.microsoft.activity.message"
    assert "press office" in refused["value"] and absences(teams)[0].cancelled_at is None
    assert refusals(teams) == ["cancel_chair_absence"]

    answer = teams.execute(cancel["verb"], cancel["data"], conversation=PERSONAL)
    assert answer["statusCode"] == 200 and answer["type"] == "application/vnd.microsoft.card.adaptive"
    assert "No absence recorded: the Chair speaks." in str(answer["value"])
    assert absences(teams)[0].cancelled_by == f"teams:{BUSINESS_MANAGER}"
    again = teams.execute(cancel["verb"], cancel["data"], conversation=PERSONAL)  # a stale card
    assert "no current Chair absence" in again["value"]
