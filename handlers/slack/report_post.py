"""The business unit's monthly summary in Slack (issue 14 item 3; bot.report_monthly): posted once
per month in the business unit channel, its words the core's, escaped for Slack. A summary Slack
could not take is posted by the tick's re-post (``repost_summary``)."""

from __future__ import annotations

import threading

from slack_sdk import WebClient

from bot import chat_posts
from bot.core import Core
from bot.report_monthly import post_id, summary_detail, summary_lines, unposted_summary
from bot.settings import Settings
from handlers.slack.blocks import escape
from handlers.slack.posting import posting_lease

SURFACE = "slack"
#: The notifier's thread and the tick's re-post may both try at once: the posting lease is per
#: instance (several processes), this lock per process (the same instance holds the lease twice).
_lock = threading.Lock()


def post_summary(core: Core, client: WebClient, settings: Settings, month: str) -> bool:
    """Post the month's summary unless it is posted already; True when posted now."""
    channel = settings.slack_business_unit_channel
    if not channel:
        return False
    with _lock, posting_lease(core, f"slack-summary:{month}") as mine:
        if not mine:
            return False
        with core.db.session() as session:
            detail = summary_detail(session, month)
            if detail is None or chat_posts.first_post(session, SURFACE, chat_posts.SUMMARY, post_id(month)):
                return False
        text = "\n".join(escape(line) for line in summary_lines(detail))
        posted = client.chat_postMessage(channel=channel, text=text)
        with core.db.transaction() as session:
            chat_posts.record_post(session, core, SURFACE, chat_posts.SUMMARY, post_id(month),
                                   str(posted["channel"]), str(posted["ts"]))
    return True


def repost_summary(core: Core, client: WebClient, settings: Settings) -> int:
    with core.db.session() as session:
        missing = unposted_summary(session, SURFACE)
        month = missing.month if missing else None
    return int(month is not None and post_summary(core, client, settings, month))
