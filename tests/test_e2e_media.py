"""End to end (issue 4): an agency forwards a journalist's email to the press address; the tick
reads it from the Maildir, opens ME-2026-0001, posts the alert in the comms channel, messages the
people who must know, emails the press office and business manager, reminds the agency not to
respond; nobody acknowledges, so the alert repeats; the press office acknowledges in Slack.

Real parts: the Maildir gateway, SQLite, the tick, the bolt App with signed requests, and the
local Slack Web API fake that records every call.
"""

from __future__ import annotations

import email
import json
from datetime import UTC, date, datetime, timedelta
from email import policy
from pathlib import Path

from bot.cases import Referral, accept, open_case, record_sin_submitted
from bot.mail.maildir import MaildirGateway
from schedules.sweep import tick
from tests.support.eml.build import load
from tests.support.slack_api import BUSINESS_MANAGER, SlackAPI, SlackHarness
from tests.support.slack_api import slack_api as slack_api  # the fixture

CHAIR, PRESS, COMMS = "UCHAIR", "UPRESS", "CCOMMS"
WED_0945 = datetime(2026, 11, 18, 9, 45, tzinfo=UTC)
#: In the forwarded email only: must reach the press office by email and never Slack.
NEVER_IN_SLACK = ("Poppy Placeholder", "Sam Writer", "sam.writer@post.example", "Request for comment")


def sent(root: Path) -> list[email.message.EmailMessage]:
    folder = root / "sent"
    files = [p for sub in ("new", "cur") for p in (folder / sub).glob("*")]
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]


def test_press_email_to_slack_alert_emails_and_an_unacknowledged_repeat(
    slack_api: SlackAPI, tmp_path: Path, schema_database_url: str,
) -> None:
    slack = SlackHarness(slack_api, tmp_path, schema_database_url, comms_channel=COMMS, roles={
        "chair": {"slack_user_id": CHAIR}, "press_office": {"slack_user_id": PRESS},
    })
    slack.clock.set(WED_0945)
    core = slack.core
    with core.transaction() as s:  # SI-2026-0001: notified, information gathering under way
        case = open_case(s, core, Referral(referring_agency="la-csc", incident_date=date(2026, 11, 16),
                                           la_aware_date=date(2026, 11, 17)),
                         actor="bm@partnership.example", source="cli")
        accept(s, core, case, actor="bm@partnership.example")
        record_sin_submitted(s, core, case, at=None, actor="bm@partnership.example")
    mailbox = MaildirGateway(tmp_path / "mail")
    inbox = tmp_path / "mail" / "inbox" / "new"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "forwarded").write_bytes(load("media_forwarded"))
    slack_api.clear()

    report = tick(core, mailbox)

    [result] = report.received
    assert (result.classification, result.case, result.agency) == ("media-enquiry", "SI-2026-0001", "police")
    # The comms channel alert: reference, outlet, deadline, routing; buttons to act on it.
    [alert] = [c.body for c in slack_api.of("chat.postMessage") if c.body["channel"] == COMMS]
    posted = json.dumps(alert)
    assert "ME-2026-0001" in posted and "Evening Post" in posted and "SI-2026-0001" in posted
    assert "Chair" in posted and "Holding statement" in posted and "media_ack" in posted
    assert "16:00" in posted  # the journalist's deadline, "4pm today", in London time
    # Direct messages to the spokesperson, the press office and the business manager.
    dms = {c.body["channel"] for c in slack_api.of("chat.postMessage") if c.body["channel"].startswith("D")}
    assert {f"D{CHAIR}", f"D{PRESS}", f"D{BUSINESS_MANAGER}"} <= dms
    # Emails through the outbox (delivered in the same tick): the alert, the agency's reminder.
    mails = {str(m["Subject"]): m for m in sent(tmp_path / "mail")}
    [alert_mail] = [m for s, m in mails.items() if "Media enquiry from Evening Post" in s]
    assert "press.office@borough.example" in str(alert_mail["To"])
    assert "bm@partnership.example" in str(alert_mail["To"])
    body = alert_mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "sam.writer@post.example" in body and "Sam Writer" in body
    [ack] = [m for s, m in mails.items() if "please do not respond independently" in s]
    assert str(ack["To"]) == "press.liaison@police.example"
    # Nothing from the email's narrative or the journalist's identity reached Slack.
    everything = slack_api.everything_sent()
    for text in NEVER_IN_SLACK:
        assert text not in everything

    # Nobody acknowledges: fifteen minutes later the alert repeats, in the thread and to the BM.
    slack_api.clear()
    slack.clock.advance(timedelta(minutes=15))
    report = tick(core, mailbox)
    assert report.media_steps == 1
    thread = [c.body for c in slack_api.of("chat.postMessage") if c.body.get("thread_ts") == alert_ts(slack)]
    assert thread and ":rotating_light:" in thread[0]["text"]
    assert any(c.body["channel"] == f"D{BUSINESS_MANAGER}" for c in slack_api.of("chat.postMessage"))
    assert any("NOT ACKNOWLEDGED" in str(m["Subject"]) for m in sent(tmp_path / "mail"))

    # The press office acknowledges in Slack: the alert says so and stops repeating.
    slack.press("media_ack", "ME-2026-0001", user=PRESS)
    slack.clock.advance(timedelta(minutes=30))
    assert tick(core, mailbox).media_steps == 0
    updates = [json.dumps(c.body) for c in slack_api.of("chat.update")]
    assert any(f"Acknowledged by <@{PRESS}>" in u for u in updates)
    for text in NEVER_IN_SLACK:
        assert text not in slack_api.everything_sent()


def alert_ts(slack: SlackHarness) -> str | None:
    from bot import media

    with slack.core.db.session() as s:
        media_id = media.get_enquiry(s, "ME-2026-0001").id
    return slack.ts_of("media", media_id)
