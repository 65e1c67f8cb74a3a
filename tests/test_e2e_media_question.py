"""The journalist's emailed question (issue 9 item 7) and a deadline that cannot be read.

A journalist writes to the press address; the question reaches the press office by email (text
and HTML) and ``review-bot media show``, and never Slack: every call the bolt app and the notifier
make is recorded by the local Slack Web API fake and searched for a sentinel phrase. The
``Deadline:`` line names 31 February: the enquiry still opens and everyone is still alerted.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.mail.maildir import MaildirGateway
from schedules.sweep import tick
from tests.support.slack_api import BUSINESS_MANAGER, SlackAPI, SlackHarness
from tests.support.slack_api import slack_api as slack_api  # the fixture
from tests.test_e2e import Bot
from tests.test_e2e_media import sent

PRESS, COMMS = "UPRESS", "CCOMMS"
WED_10 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
SENTINEL = "Zebra-Quince-Sentinel"
MAIL = f"""From: Alex Reporter <alex.reporter@radio.example>
To: Partnership Media <media@partnership.example>
Subject: Comment please
Date: Wed, 18 Nov 2026 09:55:00 +0000
Message-ID: <question.20261118@radio.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello,

Can the partnership confirm whether {SENTINEL} & <b>co</b> were named in the review?

Outlet: Example Community Radio
Deadline: 31/02/2026 16:00
About: the partnership itself

Thanks,
Alex

On Tue, 17 Nov 2026, Press Office wrote:
> An earlier exchange: OLD-HISTORY
""".encode()


def test_the_question_goes_by_email_never_to_slack(
    slack_api: SlackAPI, tmp_path: Path, caplog: pytest.LogCaptureFixture, schema_database_url: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    slack = SlackHarness(slack_api, tmp_path, schema_database_url, comms_channel=COMMS, roles={
        "press_office": {"name": "Press", "email": "press.office@borough.example", "slack_user_id": PRESS},
    })
    slack.clock.set(WED_10)
    inbox = tmp_path / "mail" / "inbox" / "new"
    inbox.mkdir(parents=True)
    (inbox / "question").write_bytes(MAIL)

    [result] = tick(slack.core, MaildirGateway(tmp_path / "mail")).received

    # The unreadable deadline did not stop anything: the enquiry is open and people are told.
    assert result.classification == "media-enquiry" and result.triage is None
    [alert] = [c.body for c in slack_api.of("chat.postMessage") if c.body["channel"] == COMMS]
    assert "ME-2026-0001" in json.dumps(alert)
    dms = {c.body["channel"] for c in slack_api.of("chat.postMessage") if c.body["channel"].startswith("D")}
    assert {f"D{PRESS}", f"D{BUSINESS_MANAGER}"} <= dms
    [mail] = [m for m in sent(tmp_path / "mail") if "Media enquiry from" in str(m["Subject"])]
    assert "press.office@borough.example" in str(mail["To"])
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "deadline cannot be read (31/02/2026 16:00" in text
    assert "Deadline: not given: ask the journalist" in text
    # The question, with the labels and the quoted history trimmed; escaped in HTML.
    assert f"Can the partnership confirm whether {SENTINEL} & <b>co</b> were named" in text
    assert f"{SENTINEL} &amp; &lt;b&gt;co&lt;/b&gt;" in html
    assert "OLD-HISTORY" not in text and "Outlet: Example" not in text.split("What they asked")[1]
    # Never in Slack, never in a log line.
    assert SENTINEL not in slack_api.everything_sent()
    assert SENTINEL not in caplog.text

    shown = Bot(tmp_path, schema_database_url)("media", "show", "ME-2026-0001").output
    assert f"  question:\n    Hello,\n\n    Can the partnership confirm whether {SENTINEL}" in shown
    assert "    Thanks,\n    Alex\n" in shown
    view = json.loads(Bot(tmp_path, schema_database_url)("media", "show", "ME-2026-0001", "--json").output)
    assert SENTINEL in view["question"] and "OLD-HISTORY" not in view["question"]
    assert view["journalist_deadline"] is None
