"""Who may do what (issue 3 item 7): the business unit, checked on the server for every action.

The business unit is the protocol's people with a ``slack_user_id`` plus, when configured, the
members of ``SLACK_BUSINESS_UNIT_USERGROUP`` (looked up with ``usergroups.users.list`` and cached
for a few minutes). A refused action is audited and the person is told why.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import select

from bot import audit
from bot.core import Core
from bot.models import Case
from bot.settings import Settings

log = logging.getLogger(__name__)

REFUSED = (
    "Only the safeguarding business unit can do this. If you think you should be able to, "
    "ask the business manager."
)


def actor(user_id: str) -> str:
    return f"slack:{user_id}"


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

    def is_business_unit(self, user_id: str) -> bool:
        if user_id in self.core.protocol.roles.business_unit_slack_ids():
            return True
        return user_id in self._usergroup_members()

    def record_refusal(self, user_id: str, action: str, ref: str | None = None) -> None:
        """The audit event for a refused action (process.md 8.4 item 8)."""
        with self.core.transaction() as session:
            case_id = None
            if ref:
                found = session.exec(select(Case.id).where(Case.ref == ref.strip().upper())).first()
                case_id = found
            audit.record(
                session, at=self.core.clock.now(), actor=actor(user_id), kind="action_refused",
                case_id=case_id, action=action,
            )

    def refuse(self, client: WebClient, body: dict[str, Any], *, action: str, ref: str | None,
               text: str = REFUSED) -> None:
        """Audit the refusal and tell the person, ephemerally where the button was."""
        user_id = body["user"]["id"]
        self.record_refusal(user_id, action, ref)
        tell(client, body, text)


def tell(client: WebClient, body: dict[str, Any], text: str) -> None:
    """An ephemeral message in the channel of the interaction, or a DM when there is none."""
    user_id = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id")
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user_id, text=text)
        else:
            dm = client.conversations_open(users=user_id)["channel"]["id"]
            client.chat_postMessage(channel=dm, text=text)
    except SlackApiError:
        log.exception("could not tell %s", user_id)
