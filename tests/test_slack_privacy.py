"""Privacy in every Slack render (issue 9 item 4), at the Slack Web API level: the local fake
records every call, and identifiers typed or emailed by anyone reach none of them; typed labels
arrive escaped in the blocks and in the ``text`` fallback alike."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.cases import AGE_BAND_NOTE
from bot.mail.maildir import MaildirGateway
from bot.models import Case, MediaEnquiry
from schedules.sweep import tick
from tests.support.eml.build import load
from tests.support.slack_api import NOW, SlackAPI, SlackHarness, dated, picked, timed, typed
from tests.support.slack_api import slack_api as slack_api  # the fixture
from tests.test_slack_referral import referral_values

COMMS, PRESS, PRACTITIONER = "CCOMMS", "UPRESS", "UPRACT"
DOB, NHS, POSTCODE = "13/03/2019", "943 476 5919", "CR2 6XH"
SENTINELS = (DOB, "2019-03-13", NHS, "9434765919", POSTCODE)
MENTION, LINK = "<!channel>", "<https://evil.example|click>"


@pytest.fixture
def slack(slack_api: SlackAPI, tmp_path: Path, schema_database_url: str) -> SlackHarness:
    return SlackHarness(slack_api, tmp_path, schema_database_url, comms_channel=COMMS,
                        roles={"press_office": {"slack_user_id": PRESS}})


def deliver(slack: SlackHarness, tmp_path: Path, raw: bytes, name: str) -> None:
    inbox = tmp_path / "mail" / "inbox" / "new"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / name).write_bytes(raw)
    tick(slack.core, MaildirGateway(tmp_path / "mail"))


def posts_to(api: SlackAPI, channel: str) -> list[dict[str, Any]]:
    return [c.body for c in api.calls
            if c.method in ("chat.postMessage", "chat.update") and c.body.get("channel") == channel]


def assert_escaped(body: dict[str, Any]) -> None:
    """The outlet's mention and link are shown as typed, never acted on, in text AND blocks."""
    blocks = json.dumps(body.get("blocks") or [])
    for part in (body["text"], blocks):
        assert "&lt;!channel&gt;" in part and "&lt;https://evil.example|click&gt;" in part, part
        assert MENTION not in part and "<https://evil" not in part


def test_a_date_of_birth_in_a_referral_email_reaches_no_slack_call(
    slack: SlackHarness, slack_api: SlackAPI, tmp_path: Path,
) -> None:
    raw = load("referral").replace(b"Age band: 0-1", f"Age: {DOB}".encode())
    assert DOB.encode() in raw
    deliver(slack, tmp_path, raw, "referral")

    with slack.core.transaction() as session:
        [case] = session.exec(select(Case))
    assert case.age_band is None and AGE_BAND_NOTE in case.missing
    [card] = [b for b in posts_to(slack_api, "CBU") if case.ref in b["text"]]
    assert "*Age band*\\nnot given" in json.dumps(card["blocks"])  # the card shows no age band
    assert AGE_BAND_NOTE in json.dumps(card["blocks"])  # the business unit is asked to set it
    everything = slack_api.everything_sent()
    assert slack_api.calls and not [s for s in SENTINELS if s in everything]


def test_identifiers_typed_into_the_referral_form_reach_no_slack_call(
    slack: SlackHarness, slack_api: SlackAPI,
) -> None:
    # The form offers only the bands; a forged submission with a date of birth as the band, and
    # identifiers typed into the free-text reason of a later form, still reach no Slack call.
    response = slack.submit("si_referral", referral_values(age_band=picked(DOB)), user=PRACTITIONER)
    assert response.status == 200 and response.body == ""
    with slack.core.transaction() as session:
        [case] = session.exec(select(Case))
    assert case.age_band is None
    response = slack.submit("si_not_met", {
        "route": picked("no-further-action"),
        "reason": typed(f"Child born {DOB}, NHS {NHS}, lives at {POSTCODE}"),
    }, meta={"ref": case.ref})
    assert response.status == 200 and response.body == ""
    with slack.core.transaction() as session:
        assert session.exec(select(Case)).one().stage == "closed_nfa"
    everything = slack_api.everything_sent()
    assert slack_api.of("chat.postMessage") and not [s for s in SENTINELS if s in everything]


def enquiry_form(outlet: str) -> dict[str, Any]:
    return {
        "outlet": typed(outlet), "journalist": typed(f"Jo Reporter {NHS}"),
        "contact": typed("jo@news.example 07700 900123"),
        "deadline": timed(NOW + timedelta(hours=3)), "subject": picked("partnership"),
        "case_ref": typed(""), "subject_agency": picked(None), "raising_agency": picked("police"),
        "summary": typed(f"About the child born {DOB} near {POSTCODE}"),
    }


def test_a_typed_outlet_is_escaped_and_identifiers_in_the_media_form_reach_no_slack_call(
    slack: SlackHarness, slack_api: SlackAPI,
) -> None:
    outlet = f"{MENTION} {LINK} Post {DOB} {POSTCODE}"
    response = slack.submit("media_enquiry", enquiry_form(outlet), user=PRACTITIONER)
    assert response.status == 200 and response.body == "", response.body
    with slack.core.transaction() as session:
        [enquiry] = session.exec(select(MediaEnquiry))
    assert enquiry.outlet == outlet  # kept as typed in the database for the press office
    [alert] = posts_to(slack_api, COMMS)
    assert_escaped(alert)
    dms = [c.body for c in slack_api.of("chat.postMessage") if c.body["channel"].startswith("D")]
    assert any("&lt;!channel&gt;" in d["text"] for d in dms)  # the fan-out DMs name the outlet too
    everything = slack_api.everything_sent()
    assert MENTION not in everything and "<https://evil" not in everything
    assert not [s for s in (*SENTINELS, "Jo Reporter", "jo@news.example", "07700 900123")
                if s in everything]
    # The outlet in /media-enquiry status and list, for the team: escaped in text and blocks.
    slack_api.clear()
    slack.command(f"status {enquiry.ref}", user=PRESS, name="/media-enquiry")
    [answer] = slack_api.of("response")
    assert_escaped(answer.body)


def test_an_emailed_outlet_is_escaped_in_the_comms_alert(
    slack: SlackHarness, slack_api: SlackAPI, tmp_path: Path,
) -> None:
    raw = load("media_direct").replace(
        b"Outlet: Example Community Radio", f"Outlet: {MENTION} {LINK} Radio".encode()
    )
    deliver(slack, tmp_path, raw, "press")
    with slack.core.transaction() as session:
        [enquiry] = session.exec(select(MediaEnquiry))
    assert MENTION in enquiry.outlet
    [alert] = posts_to(slack_api, COMMS)
    assert_escaped(alert)
    everything = slack_api.everything_sent()
    assert MENTION not in everything and "<https://evil" not in everything


def test_the_incident_dates_the_bot_renders_itself_are_shown(
    slack: SlackHarness, slack_api: SlackAPI,
) -> None:
    # Dates of the incident and of awareness are needed for deadlines (process.md 8.4 item 1).
    slack.submit("si_referral", referral_values(incident_date=dated("2026-11-20")), user=PRACTITIONER)
    card = posts_to(slack_api, "CBU")[-1]
    assert "*Date of incident*\\n2026-11-20" in json.dumps(card["blocks"])


def test_a_failing_listener_logs_no_typed_identifier(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture,
) -> None:
    # A forged triage form whose item is a date of birth: int() fails quoting it, bolt calls the
    # app's error handler, and the log line carries the redacted message and the frames only.
    caplog.set_level(logging.DEBUG)
    slack.submit("si_triage_dismiss", {"reason": typed("x")}, meta={"item": DOB, "home": True})
    [record] = [r for r in caplog.records if r.name == "handlers.slack.app"]
    assert "ValueError" in record.getMessage() and "<value>" in record.getMessage()
    assert DOB not in record.getMessage() and record.exc_info is None
    # No other logger (bolt's own included) printed the exception with its text.
    assert not [r.name for r in caplog.records
                if DOB in r.getMessage() or (r.exc_info and DOB in str(r.exc_info[1]))]


def test_a_typed_reference_is_echoed_escaped_and_redacted(slack: SlackHarness, slack_api: SlackAPI) -> None:
    slack.command(f"status <!here> {DOB}", user=PRACTITIONER)
    slack.command(f"status <!here> {DOB}", user=PRACTITIONER, name="/media-enquiry")
    replies = [c.body["text"] for c in slack_api.of("response")]
    assert len(replies) == 2
    for text in replies:
        assert "&lt;!here&gt;" in text and "<!here>" not in text and DOB not in text
