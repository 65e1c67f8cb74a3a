"""A local Slack Web API for tests, modelled on bolt-python's ``tests/mock_web_api_server``.

A ``ThreadingHTTPServer`` on 127.0.0.1, port 0 (so parallel runs never collide), answering the
methods the bot calls with canned JSON and recording every call: the method name, the parsed
form or JSON body and the headers. Point ``WebClient(base_url=server.url)`` at it.

``response_url`` posts (``respond()`` in Bolt) land under ``/response/...`` and are recorded
with the method name ``"response"``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    headers: dict[str, str]

    def dumps(self) -> str:
        """The whole call as text, to search for something that must never be sent."""
        return json.dumps(self.body, default=str)


@dataclass
class SlackAPI:
    """The running fake. ``calls`` in arrival order; ``fail`` makes a method answer an error."""

    url: str = ""
    calls: list[Call] = field(default_factory=list)
    usergroup_users: dict[str, list[str]] = field(default_factory=dict)
    fail: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: Iterator[int] = field(default_factory=lambda: count(1))
    #: (channel, ts) of the messages chat.delete removed: a second delete answers message_not_found.
    deleted: set[tuple[str, str]] = field(default_factory=set)

    # --- looking at what was sent ------------------------------------------------------
    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def everything_sent(self) -> str:
        with self._lock:
            return "\n".join(c.dumps() for c in self.calls)

    # --- answering ---------------------------------------------------------------------
    def record(self, method: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self.calls.append(Call(method, body, headers))

    def next_ts(self) -> str:
        with self._lock:
            return f"1700000000.{next(self._ts):06d}"

    def answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method in self.fail:
            return {"ok": False, "error": self.fail[method]}
        if method == "auth.test":
            return {
                "ok": True, "url": "https://example.slack.com/", "team": "Example",
                "user": "review-bot", "team_id": "T0001", "user_id": "UBOT", "bot_id": "BBOT",
            }
        if method in ("views.open", "views.update", "views.publish", "views.push"):
            view = body.get("view")
            if isinstance(view, str):
                view = json.loads(view)
            return {"ok": True, "view": {"id": "V0001", **(view or {})}}
        if method == "chat.postMessage":
            ts = self.next_ts()
            return {"ok": True, "channel": body.get("channel"), "ts": ts,
                    "message": {"text": body.get("text"), "ts": ts}}
        if method == "chat.update":
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts"),
                    "text": body.get("text")}
        if method == "chat.delete":
            where = (str(body.get("channel")), str(body.get("ts")))
            with self._lock:
                if where in self.deleted:
                    return {"ok": False, "error": "message_not_found"}
                self.deleted.add(where)
            return {"ok": True, "channel": where[0], "ts": where[1]}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "conversations.open":
            users = str(body.get("users", "U0"))
            return {"ok": True, "channel": {"id": "D" + users.split(",")[0]}}
        if method == "users.info":
            user = body.get("user", "U0")
            return {"ok": True, "user": {"id": user, "name": user.lower(), "deleted": False}}
        if method == "usergroups.users.list":
            return {"ok": True, "users": self.usergroup_users.get(body.get("usergroup", ""), [])}
        return {"ok": True}


def _handler(api: SlackAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            return None

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8") if length else ""
            ctype = self.headers.get("Content-Type", "")
            if "json" in ctype:
                body = json.loads(raw or "{}")
            else:
                body = dict(parse_qsl(raw, keep_blank_values=True))
            path = self.path.split("?", 1)[0]
            if path.startswith("/response/"):
                method, answer = "response", {"ok": True}
            else:
                method = path.rsplit("/", 1)[-1]
                answer = api.answer(method, body)
            api.record(method, body, {k.lower(): v for k, v in self.headers.items()})
            data = json.dumps(answer).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def start_slack_api() -> tuple[SlackAPI, ThreadingHTTPServer]:
    api = SlackAPI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    api.url = f"http://{host}:{port}/api/"
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="slack-api", daemon=True
    ).start()
    return api, server


@pytest.fixture
def slack_api() -> Iterator[SlackAPI]:
    api, server = start_slack_api()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


# --- a bolt App wired to the fake, on a temporary database ----------------------------------

SIGNING_SECRET = "test-signing-secret"
BUSINESS_MANAGER = "UBM"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


class SlackHarness:
    """The real bolt App (signed requests, ``process_before_response=True``) against the fake."""

    def __init__(self, api: SlackAPI, tmp_path: Path, database_url: str, *, usergroup: str = "",
                 roles: dict[str, Any] | None = None, comms_channel: str = "") -> None:
        from bot.clock import FixedClock
        from bot.core import Core
        from bot.db import Database
        from bot.protocol import parse_protocol
        from bot.settings import Settings
        from handlers.slack.app import build_client, create_slack_app
        from handlers.slack.notifier import SlackNotifier

        self.api = api
        # The `schema_database_url` (or `database_url`) fixture: SQLite or PostgreSQL.
        db = Database(database_url)
        db.create_schema()  # nothing to do when the fixture made the tables already
        protocol = parse_protocol({"preset": "working-together-2023", "roles": {"business_manager": {
            "name": "BM", "email": "bm@partnership.example", "slack_user_id": BUSINESS_MANAGER,
        }, **(roles or {})}}, "test")
        self.clock = FixedClock(NOW)
        self.core = Core(db=db, protocol=protocol, clock=self.clock, attachments_dir=tmp_path / "att")
        self.settings = Settings(
            _env_file=None, slack_bot_token="xoxb-test", slack_signing_secret=SIGNING_SECRET,
            slack_api_url=api.url, slack_business_unit_channel="CBU",
            slack_business_unit_usergroup=usergroup, slack_comms_channel=comms_channel,
        )
        self.client = build_client(self.settings)
        self.app = create_slack_app(self.core, self.settings, client=self.client,
                                    process_before_response=True)
        self.core.notifiers = [SlackNotifier(self.client, self.core, self.settings, background=False)]
        self._trigger = count(1)

    def post_of(self, kind: str, object_id: int | None) -> Any:
        """The Slack post (a bot.models.ChatPost) of a case card or media alert, or None."""
        from bot.chat_posts import first_post

        with self.core.db.session() as session:
            return first_post(session, "slack", kind, object_id) if object_id is not None else None

    def ts_of(self, kind: str, object_id: int | None) -> str | None:
        post = self.post_of(kind, object_id)
        return None if post is None else str(post.message_id)

    # --- sending signed requests ---------------------------------------------------------
    def send(self, body: str, content_type: str, *, secret: str = SIGNING_SECRET) -> Any:
        from slack_bolt.request import BoltRequest
        from slack_sdk.signature import SignatureVerifier

        timestamp = str(int(time.time()))
        signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
        headers = {
            "content-type": [content_type], "x-slack-signature": [signature],
            "x-slack-request-timestamp": [timestamp],
        }
        return self.app.dispatch(BoltRequest(body=body, headers=headers))

    def _form(self, fields: dict[str, str], **kw: Any) -> Any:
        return self.send(urlencode(fields), "application/x-www-form-urlencoded", **kw)

    def _payload(self, payload: dict[str, Any], **kw: Any) -> Any:
        return self._form({"payload": json.dumps(payload)}, **kw)

    def trigger_id(self) -> str:
        return f"trigger-{next(self._trigger)}"

    def command(self, text: str = "", user: str = BUSINESS_MANAGER, *, name: str = "/serious-incident",
                **kw: Any) -> Any:
        return self._form({
            "token": "legacy", "team_id": "T0001", "team_domain": "example", "channel_id": "CPRACT",
            "user_id": user, "user_name": user.lower(), "command": name, "text": text,
            "api_app_id": "A0001", "trigger_id": self.trigger_id(),
            "response_url": self.api.url.replace("/api/", "/response/T0001/1/abc"),
        }, **kw)

    def press(self, action_id: str, value: str, user: str = BUSINESS_MANAGER, *, home: bool = False) -> Any:
        payload: dict[str, Any] = {
            "type": "block_actions", "user": {"id": user}, "team": {"id": "T0001"},
            "api_app_id": "A0001", "trigger_id": self.trigger_id(),
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value,
                         "action_ts": "1.0"}],
        }
        if home:
            payload["container"] = {"type": "view", "view_id": "VHOME"}
            payload["view"] = {"id": "VHOME", "type": "home"}
        else:
            payload["container"] = {"type": "message", "channel_id": "CBU", "message_ts": "1.1"}
            payload["channel"] = {"id": "CBU"}
            payload["response_url"] = self.api.url.replace("/api/", "/response/T0001/2/def")
        return self._payload(payload)

    def submit(self, callback_id: str, values: dict[str, Any], user: str = BUSINESS_MANAGER,
               meta: dict[str, Any] | None = None, *, view_id: str | None = None,
               view_hash: str = "1700000000.abc") -> Any:
        """A view submission; each opens a fresh view unless ``view_id`` replays one."""
        state = {block: {"value": element} for block, element in values.items()}
        return self._payload({
            "type": "view_submission", "user": {"id": user}, "team": {"id": "T0001"},
            "api_app_id": "A0001", "trigger_id": self.trigger_id(),
            "view": {"id": view_id or f"V{next(self._trigger):04d}", "hash": view_hash,
                     "type": "modal", "callback_id": callback_id,
                     "private_metadata": json.dumps(meta or {}), "state": {"values": state}},
        })

    def event(self, event: dict[str, Any], *, event_id: str | None = None) -> Any:
        return self.send(json.dumps({
            "token": "legacy", "team_id": "T0001", "api_app_id": "A0001", "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._trigger)}", "event_time": int(time.time()),
            "event": event,
        }), "application/json")


# Shapes of modal answers as Slack sends them in view.state.values.
def picked(value: str | None) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value} if value else None}


def picked_many(values: list[str], kind: str = "multi_static_select") -> dict[str, Any]:
    return {"type": kind, "selected_options": [{"value": v} for v in values]}


def dated(value: str | None) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": value}


def typed(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def timed(value: datetime | None) -> dict[str, Any]:
    """A datetimepicker's answer: Unix seconds."""
    return {"type": "datetimepicker", "selected_date_time": int(value.timestamp()) if value else None}


@pytest.fixture
def slack(slack_api: SlackAPI, tmp_path: Path, schema_database_url: str) -> SlackHarness:
    return SlackHarness(slack_api, tmp_path, schema_database_url)
