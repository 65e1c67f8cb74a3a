"""A mailbox outage (issue 5 item 7): the poll backs off, nothing is lost, App Home says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

from bot.clock import FixedClock
from bot.core import Core
from bot.mail.gateway import InboundItem, TransientMailboxError
from bot.mail.maildir import MaildirGateway
from schedules.sweep import tick
from tests.support.eml.build import load
from tests.support.slack_api import BUSINESS_MANAGER, SlackHarness
from tests.support.slack_api import slack as slack  # the fixture
from tests.support.slack_api import slack_api as slack_api  # the fixture


class Flaky:
    """A gateway whose server is down until ``up`` is set; counts the attempts."""

    name = "flaky"

    def __init__(self, inner: MaildirGateway) -> None:
        self.inner, self.up, self.attempts = inner, False, 0

    def fetch_new(self) -> Iterator[InboundItem]:
        self.attempts += 1
        if not self.up:
            raise TransientMailboxError("IMAP server unreachable (connection refused)")
        return self.inner.fetch_new()

    def mark_processed(self, item_id: str) -> None:
        self.inner.mark_processed(item_id)

    def send(self, message: EmailMessage) -> str:
        if not self.up:
            raise TransientMailboxError("SMTP server unreachable (connection refused)")
        return self.inner.send(message)

    def check(self) -> list[str]:
        return []


def test_the_poll_backs_off_while_the_mailbox_is_down_and_catches_up(
    core: Core, maildir: MaildirGateway, clock: FixedClock
) -> None:
    gateway = Flaky(maildir)
    inbox = maildir.root / "inbox" / "new"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "referral").write_bytes(load("referral"))
    minutes_polled = []
    for minute in range(20):
        before = gateway.attempts
        report = tick(core, gateway)  # type: ignore[arg-type]
        if gateway.attempts > before:
            minutes_polled.append(minute)
        assert report.mailbox_error and not report.received
        clock.advance(timedelta(minutes=1))
    assert minutes_polled == [0, 1, 3, 7, 15]  # one minute, doubling
    assert core.mailbox.failures == 5 and not core.mailbox.reachable
    gateway.up = True
    clock.advance(timedelta(minutes=16))
    report = tick(core, gateway)  # type: ignore[arg-type]
    assert [r.classification for r in report.received] == ["referral"]  # nothing lost
    assert report.delivery.sent == 2  # the alert and acknowledgement waited in the outbox
    assert core.mailbox.reachable and core.mailbox.since is None


def test_app_home_tells_the_business_unit_the_mailbox_is_unreachable(slack: SlackHarness) -> None:
    slack.core.mailbox.failed(slack.clock.now(), "IMAP server unreachable (connection refused)")
    slack.event({"type": "app_home_opened", "user": BUSINESS_MANAGER, "tab": "home"})
    [call] = [c for c in slack.api.of("views.publish") if c.body["user_id"] == BUSINESS_MANAGER]
    view = call.body["view"]
    text = json.dumps(json.loads(view) if isinstance(view, str) else view)
    assert "mailbox has been unreachable since" in text and "connection refused" in text
    slack.core.mailbox.succeeded(slack.clock.now())
    slack.api.clear()
    slack.event({"type": "app_home_opened", "user": BUSINESS_MANAGER, "tab": "home"})
    [call] = slack.api.of("views.publish")
    assert "unreachable" not in json.dumps(call.body)
