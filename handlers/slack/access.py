"""Who is asking, as Slack knows them (issue 3 item 7; issue 11): the core decides what they may do.

The protocol's people are matched by ``slack_user_id`` (in :func:`bot.actors.resolve_actor`);
the members of ``SLACK_BUSINESS_UNIT_USERGROUP`` (looked up with ``usergroups.users.list`` and
cached for a few minutes) arrive as the group "business_unit". Refusals are audited by the core;
the door only tells the person.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.actors import BUSINESS_UNIT, Actor, resolve_actor
from bot.core import Core
from bot.privacy import safe_message
from bot.settings import Settings

log = logging.getLogger(__name__)


class Access:
    def __init__(self, core: Core, settings: Settings, client: WebClient, *, ttl_seconds: float = 300):
        self.core = core
        self.settings = settings
        self.client = client
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._group: set[str] = set()
        self._group_at: float | None = None

    def _usergroup_members(self) -> set[str]:
        group = self.settings.slack_business_unit_usergroup
        if not group:
            return set()
        with self._lock:
            fresh = self._group_at is not None and time.monotonic() - self._group_at < self.ttl_seconds
            if fresh:
                return self._group
            try:
                users = self.client.usergroups_users_list(usergroup=group).get("users") or []
            except (SlackApiError, OSError):
                log.exception("usergroups.users.list failed; using the protocol's people only")
                return self._group
            self._group, self._group_at = set(users), time.monotonic()
            return self._group

    def actor(self, user_id: str) -> Actor:
        """The core's actor for a Slack user; the usergroup is asked only when the protocol does
        not already name them in the business unit."""
        found = resolve_actor(self.core, surface="slack", user_id=user_id)
        if found.has(BUSINESS_UNIT) or user_id not in self._usergroup_members():
            return found
        return resolve_actor(self.core, surface="slack", user_id=user_id, groups=[BUSINESS_UNIT])


def tell(client: WebClient, body: dict[str, Any], text: str) -> None:
    """An ephemeral message in the channel of the interaction, or a DM when there is none."""
    user_id = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id")
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user_id, text=safe_message(text))
        else:
            dm(client, user_id, safe_message(text))
    except SlackApiError:
        log.exception("could not tell %s", user_id)


def dm(client: WebClient, user_id: str, text: str) -> None:
    channel = client.conversations_open(users=user_id)["channel"]["id"]
    client.chat_postMessage(channel=channel, text=text)
