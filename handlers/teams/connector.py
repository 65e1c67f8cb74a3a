"""Calls to the Bot Connector service: post, update and reply to activities, open a 1:1 chat.

Each call carries a client-credentials token from Entra for the bot's own (single-tenant) app
registration, scope ``https://api.botframework.com/.default`` (Bot Framework REST docs, "Bot to
Connector"); it is cached until five minutes before it expires. Rate limits (429, honouring
Retry-After up to a bound), server errors and connection errors are retried twice, like the
Slack client (handlers/slack/app.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

SCOPE = "https://api.botframework.com/.default"
RETRIES = 2
#: The longest Retry-After we wait for in a request's thread; longer, the call fails and the
#: tick's re-post (handlers/teams/notifier.py) tries again later.
MAX_RETRY_AFTER = 5.0


class ConnectorError(Exception):
    """A call to the Bot Connector failed (the status, never the body: it may echo what we sent)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Connector:
    def __init__(
        self, *, app_id: str, password: str, tenant_id: str, login_url: str,
        now: Callable[[], datetime], http: httpx.Client | None = None,
    ) -> None:
        self.app_id = app_id
        self._password = password
        self.token_url = f"{login_url.rstrip('/')}/{quote(tenant_id, safe='')}/oauth2/v2.0/token"
        self.now = now
        self.http = http or httpx.Client(timeout=10.0)
        self._token: tuple[str, datetime] | None = None
        self._lock = threading.Lock()

    # --- the token ------------------------------------------------------------------------
    def token(self) -> str:
        with self._lock:
            now = self.now()
            if self._token is not None and now < self._token[1]:
                return self._token[0]
            response = self._call("POST", self.token_url, data={
                "grant_type": "client_credentials", "client_id": self.app_id,
                "client_secret": self._password, "scope": SCOPE,
            }, auth=False)
            body = response.json()
            lifetime = max(int(body.get("expires_in", 0)) - 300, 0)
            self._token = (str(body["access_token"]), now + timedelta(seconds=lifetime))
            return self._token[0]

    # --- activities -----------------------------------------------------------------------
    def send(self, service_url: str, conversation_id: str, activity: dict[str, Any]) -> str:
        """Post a new activity in a conversation; returns its id."""
        url = f"{_base(service_url)}/v3/conversations/{quote(conversation_id, safe='')}/activities"
        return str(self._call("POST", url, json=activity).json().get("id") or "")

    def reply(self, service_url: str, conversation_id: str, reply_to: str, activity: dict[str, Any]) -> str:
        """A reply to an activity (a thread reply in a channel)."""
        url = (f"{_base(service_url)}/v3/conversations/{quote(conversation_id, safe='')}/activities/"
               f"{quote(reply_to, safe='')}")
        return str(self._call("POST", url, json={**activity, "replyToId": reply_to}).json().get("id") or "")

    def update(
        self, service_url: str, conversation_id: str, activity_id: str, activity: dict[str, Any],
    ) -> None:
        url = (f"{_base(service_url)}/v3/conversations/{quote(conversation_id, safe='')}/activities/"
               f"{quote(activity_id, safe='')}")
        self._call("PUT", url, json={**activity, "id": activity_id})

    def delete(self, service_url: str, conversation_id: str, activity_id: str) -> None:
        """Delete an activity the bot posted; one Teams no longer has (404) counts as deleted."""
        url = (f"{_base(service_url)}/v3/conversations/{quote(conversation_id, safe='')}/activities/"
               f"{quote(activity_id, safe='')}")
        try:
            self._call("DELETE", url)
        except ConnectorError as exc:
            if exc.status != 404:
                raise

    def open_personal_chat(self, service_url: str, user_id: str, tenant_id: str) -> str:
        """The 1:1 conversation with a user (their AAD object id); Teams returns the existing one."""
        body = {
            "bot": {"id": f"28:{self.app_id}"}, "members": [{"id": user_id}], "isGroup": False,
            "tenantId": tenant_id, "channelData": {"tenant": {"id": tenant_id}},
        }
        return str(self._call("POST", f"{_base(service_url)}/v3/conversations", json=body).json()["id"])

    # --- transport ------------------------------------------------------------------------
    def _call(self, method: str, url: str, *, auth: bool = True, **kwargs: Any) -> httpx.Response:
        for attempt in range(RETRIES + 1):
            headers = {"Authorization": f"Bearer {self.token()}"} if auth else {}
            try:
                response = self.http.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                if attempt == RETRIES:
                    raise ConnectorError(f"{method} failed: {type(exc).__name__}") from exc
                time.sleep(0.2 * (attempt + 1))
                continue
            if response.status_code == 401 and auth and attempt < RETRIES:
                with self._lock:
                    self._token = None  # revoked or rotated: fetch a new one once
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == RETRIES:
                    break
                time.sleep(_retry_after(response, attempt))
                continue
            if response.is_success:
                return response
            break
        raise ConnectorError(f"{method} answered {response.status_code}", response.status_code)


def _base(service_url: str) -> str:
    return service_url.rstrip("/")


def _retry_after(response: httpx.Response, attempt: int) -> float:
    try:
        wait = float(response.headers.get("Retry-After", ""))
    except ValueError:
        wait = 0.5 * (attempt + 1)
    return min(max(wait, 0.0), MAX_RETRY_AFTER)
