"""The business unit's monthly summary in Teams (issue 14 item 3; bot.report_monthly): posted once
per month in TEAMS_BUSINESS_UNIT_CHANNEL as plain text, the core's words."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

from bot import chat_posts
from bot.core import Core
from bot.report_monthly import post_id, summary_detail, summary_lines, unposted_summary
from handlers.teams.cards import text_message
from handlers.teams.connector import Connector

SURFACE = "teams"
#: The lease is per instance; this lock keeps the notifier's thread and the tick's re-post of one
#: process from posting the same summary twice.
_lock = threading.Lock()


def post_summary(core: Core, connector: Connector, service_url: str, channel: str, month: str,
                 lease: Callable[[str], AbstractContextManager[bool]]) -> bool:
    """Post the month's summary unless it is posted already; True when posted now."""
    if not channel:
        return False
    with _lock, lease(f"teams-summary:{month}") as ours:
        if not ours:
            return False
        with core.db.session() as session:
            detail = summary_detail(session, month)
            if detail is None or chat_posts.first_post(session, SURFACE, chat_posts.SUMMARY, post_id(month)):
                return False
        message_id = connector.send(service_url, channel, text_message("\n".join(summary_lines(detail))))
        with core.db.transaction() as session:
            chat_posts.record_post(session, core, SURFACE, chat_posts.SUMMARY, post_id(month), channel,
                                   message_id)
    return True


def unposted_month(core: Core) -> str | None:
    with core.db.session() as session:
        missing = unposted_summary(session, SURFACE)
        return missing.month if missing else None
