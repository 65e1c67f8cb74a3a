"""Several instances on one database (decision 0013): a missing case card or media alert noticed
by two of them at once is posted once. The other instance is another holder of the posting lease."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot import leases
from bot.core import NullNotifier
from bot.models import Case
from handlers.slack.media_notifier import repost_missing_media_alerts
from handlers.slack.notifier import SlackNotifier, repost_missing_cards
from tests.conftest import new_case
from tests.support.slack_api import SlackAPI, SlackHarness
from tests.support.slack_api import slack_api as slack_api  # the fixture

OTHER = "other-host:4242:abcd"


@pytest.fixture
def slack(slack_api: SlackAPI, tmp_path: Path, schema_database_url: str) -> SlackHarness:
    return SlackHarness(slack_api, tmp_path, schema_database_url, comms_channel="CCOMMS")


def held_by_other_instance(slack: SlackHarness, name: str) -> None:
    with slack.core.db.transaction() as s:
        assert leases.acquire(s, name, OTHER, slack.clock.now(), timedelta(minutes=2))


def test_a_card_another_instance_is_posting_is_not_posted_twice(slack: SlackHarness) -> None:
    notifiers = slack.core.notifiers
    slack.core.notifiers = [NullNotifier()]  # the case opens while Slack is unreachable
    ref = new_case(slack.core)
    slack.core.notifiers = notifiers
    with slack.core.db.session() as s:
        case_id = s.exec(select(Case.id).where(Case.ref == ref)).one()
    held_by_other_instance(slack, f"slack-card:{case_id}")

    assert repost_missing_cards(slack.core, slack.client, slack.settings) == 0
    assert slack.api.of("chat.postMessage") == []
    # The other instance died mid-post: its lease lapses and this one posts the card, once.
    slack.clock.advance(timedelta(minutes=3))
    assert repost_missing_cards(slack.core, slack.client, slack.settings) == 1
    assert repost_missing_cards(slack.core, slack.client, slack.settings) == 0
    assert len(slack.api.of("chat.postMessage")) == 1


def test_a_media_alert_another_instance_is_posting_is_not_posted_or_dmed_twice(
    slack: SlackHarness,
) -> None:
    from bot.media import EnquiryInput, receive_enquiry

    assert isinstance(slack.core.notifier_for("slack"), SlackNotifier)
    notifiers = slack.core.notifiers
    slack.core.notifiers = [NullNotifier()]
    with slack.core.transaction() as s:
        enquiry = receive_enquiry(s, slack.core, EnquiryInput(outlet="Local Radio", subject="general"),
                                  actor="cli:press", source="cli")
        media_id = enquiry.id
    slack.core.notifiers = notifiers
    held_by_other_instance(slack, f"slack-media:{media_id}")

    assert repost_missing_media_alerts(slack.core, slack.client, slack.settings) == 0
    assert slack.api.of("chat.postMessage") == []
    slack.clock.advance(timedelta(minutes=3))
    assert repost_missing_media_alerts(slack.core, slack.client, slack.settings) == 1
    posts = len(slack.api.of("chat.postMessage"))
    assert repost_missing_media_alerts(slack.core, slack.client, slack.settings) == 0
    assert len(slack.api.of("chat.postMessage")) == posts  # no second alert, no second DMs
    assert slack.ts_of("media", media_id) is not None
