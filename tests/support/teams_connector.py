"""A local fake of the Bot Connector service and of the token issuers, for the Teams tests.

One ``ThreadingHTTPServer`` on 127.0.0.1, port 0, playing three parts:

- **the Bot Framework's OpenID metadata and JWKS** (``/v1/.well-known/openidconfiguration``,
  ``/v1/.well-known/keys``) with a real RSA key endorsed for ``msteams``; :meth:`inbound_token`
  signs the RS256 JWTs Teams would send with an activity, and can sign with a forged key, for
  another audience, or already expired;
- **Entra's token endpoint** (``/{tenant}/oauth2/v2.0/token``): client credentials checked,
  answered with a real RS256 access token that the connector routes then require;
- **the Bot Connector** (``/v3/conversations...``): create a 1:1 conversation, post, reply to
  and update activities. Every activity the bot sends is recorded in :attr:`sent`, a reply with
  its parent (:meth:`replies_to`); a reply or an update of an activity that was never posted is
  refused with 404, as the real service does.

:meth:`post_activity` sends a signed activity to the bot's endpoint over HTTP, as Teams does.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

APP_ID = "00000000-0000-4000-8000-0000000000b0"
APP_PASSWORD = "test-client-secret"
TENANT = "11111111-2222-4333-8444-555555555555"
ISSUER = "https://api.botframework.com"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Sent:
    """One call the bot made to the connector."""

    method: str  # "create" | "reply" | "update" | "delete" | "conversation"
    conversation: str
    activity_id: str
    body: dict[str, Any]
    #: For a reply: the activity it answers (the URL's id; the body's replyToId must agree).
    reply_to: str = ""

    def dumps(self) -> str:
        return json.dumps(self.body, default=str)


@dataclass
class TeamsConnector:
    now: Callable[[], datetime]
    url: str = ""
    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    kid: str = "teams-key-1"
    endorsements: list[str] = field(default_factory=lambda: ["msteams"])
    sent: list[Sent] = field(default_factory=list)
    tokens_issued: int = 0
    #: Status codes the next connector calls answer with, first one first (e.g. [429, 500]).
    fail_next: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Any = field(default_factory=lambda: count(1))
    _access_tokens: set[str] = field(default_factory=set)
    #: (conversation, activity id) of every activity posted: kept by clear(), as Teams keeps them.
    _activities: set[tuple[str, str]] = field(default_factory=set)
    _server: ThreadingHTTPServer | None = None

    # --- running ------------------------------------------------------------------------
    def start(self) -> TeamsConnector:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        serve = self._server.serve_forever
        threading.Thread(target=serve, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def service_url(self) -> str:
        return self.url + "/"

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/v1/.well-known/openidconfiguration"

    # --- looking at what the bot sent ---------------------------------------------------
    def of(self, method: str, conversation: str | None = None) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.method == method
                    and (conversation is None or s.conversation == conversation)]

    def replies_to(self, parent: str) -> list[Sent]:
        """The thread under an activity the bot posted (a card, an alert), in order."""
        with self._lock:
            return [s for s in self.sent if s.method == "reply" and s.reply_to == parent]

    def in_conversation(self, conversation: str) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.conversation == conversation]

    def everything(self) -> str:
        with self._lock:
            return "\n".join(s.dumps() for s in self.sent)

    def clear(self) -> None:
        with self._lock:
            self.sent.clear()

    # --- tokens -------------------------------------------------------------------------
    def inbound_token(
        self, *, service_url: str | None = None, audience: str = APP_ID, key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None, issued: datetime | None = None, lifetime: timedelta = timedelta(hours=1),
        issuer: str = ISSUER,
    ) -> str:
        """A token as the Bot Connector signs it for an activity it sends to the bot."""
        at = issued or self.now()
        claims = {
            "iss": issuer, "aud": audience, "serviceurl": service_url or self.service_url,
            "nbf": int(at.timestamp()), "iat": int(at.timestamp()), "exp": int((at + lifetime).timestamp()),
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {"keys": [{
            "kty": "RSA", "use": "sig", "kid": self.kid, "n": _b64(numbers.n), "e": _b64(numbers.e),
            "endorsements": list(self.endorsements),
        }]}

    def _issue_access_token(self, form: dict[str, str], tenant: str) -> tuple[int, dict[str, Any]]:
        ok = (form.get("grant_type") == "client_credentials" and form.get("client_id") == APP_ID
              and form.get("client_secret") == APP_PASSWORD and form.get("scope") == f"{ISSUER}/.default"
              and tenant == TENANT)
        if not ok:
            return 401, {"error": "invalid_client"}
        now = self.now()
        token = jwt.encode({
            "iss": f"https://sts.windows.net/{TENANT}/", "aud": ISSUER, "appid": APP_ID, "tid": TENANT,
            "iat": int(now.timestamp()), "exp": int((now + timedelta(hours=1)).timestamp()),
            "jti": uuid.uuid4().hex,
        }, self.key, algorithm="RS256", headers={"kid": self.kid})
        with self._lock:
            self._access_tokens.add(token)
            self.tokens_issued += 1
        return 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token}

    # --- sending activities to the bot --------------------------------------------------
    def post_activity(self, endpoint: str, activity: dict[str, Any], *, token: str | None = "sign",
                      client: httpx.Client | None = None) -> httpx.Response:
        """POST an activity to the bot as Teams does; ``token=None`` sends no Authorization."""
        headers = {"Content-Type": "application/json"}
        if token == "sign":
            token = self.inbound_token(service_url=activity.get("serviceUrl"))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(activity).encode()
        if client is not None:
            return client.post(endpoint, content=data, headers=headers)
        return httpx.post(endpoint, content=data, headers=headers, timeout=30)

    # --- the connector ------------------------------------------------------------------
    def _record(self, method: str, conversation: str, body: dict[str, Any], activity_id: str = "",
                reply_to: str = "") -> str:
        with self._lock:
            new_id = activity_id or f"1{next(self._ids):012d}"
            self.sent.append(Sent(method, conversation, new_id, body, reply_to))
            if method in ("create", "reply"):  # a reply is an activity too (it can be deleted)
                self._activities.add((conversation, new_id))
            if method == "delete":
                self._activities.discard((conversation, new_id))
        return new_id

    def _posted(self, conversation: str, activity_id: str) -> bool:
        with self._lock:
            return (conversation, activity_id) in self._activities

    def _authorised(self, header: str | None) -> bool:
        token = (header or "").removeprefix("Bearer ")
        with self._lock:
            return token in self._access_tokens

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        parts = [unquote(p) for p in urlsplit(path).path.strip("/").split("/")]
        if method == "GET" and path.endswith("/openidconfiguration"):
            return 200, {"issuer": ISSUER, "jwks_uri": f"{self.url}/v1/.well-known/keys",
                         "id_token_signing_alg_values_supported": ["RS256"]}
        if method == "GET" and path.endswith("/keys"):
            return 200, self.jwks()
        if method == "POST" and parts[1:] == ["oauth2", "v2.0", "token"]:
            return self._issue_access_token(dict(parse_qsl(raw.decode())), parts[0])
        if parts[:2] != ["v3", "conversations"]:
            return 404, {"error": "not found"}
        if not self._authorised(headers.get("authorization")):
            return 401, {"error": {"code": "Unauthorized"}}
        with self._lock:
            status = self.fail_next.pop(0) if self.fail_next else None
        if status is not None:
            return status, {"error": {"code": "Failed"}}
        body = json.loads(raw or b"{}")
        if len(parts) == 2 and method == "POST":
            member = body["members"][0]["id"]
            conversation = f"a:dm-{member}"
            self._record("conversation", conversation, body)
            return 201, {"id": conversation}
        conversation = parts[2]
        if len(parts) == 4 and method == "POST":
            return 201, {"id": self._record("create", conversation, body)}
        if len(parts) == 5 and not self._posted(conversation, parts[4]):
            return 404, {"error": {"code": "ActivityNotFoundInConversation"}}
        if len(parts) == 5 and method == "POST":
            if body.get("replyToId") != parts[4]:
                return 400, {"error": {"code": "BadArgument"}}
            return 201, {"id": self._record("reply", conversation, body, reply_to=parts[4])}
        if len(parts) == 5 and method == "DELETE":
            return 200, {"id": self._record("delete", conversation, body, activity_id=parts[4])}
        if len(parts) == 5 and method == "PUT":
            return 200, {"id": self._record("update", conversation, body, activity_id=parts[4])}
        return 404, {"error": "not found"}


def _handler(fake: TeamsConnector) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = fake.handle(self.command, self.path, headers, raw)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 429 or status >= 500:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler


# --- activities as Teams sends them -------------------------------------------------------------

def user(aad: str, name: str = "A person") -> dict[str, Any]:
    return {"id": f"29:{aad}", "aadObjectId": aad, "name": name}


def activity(fake: TeamsConnector, kind: str, sender: dict[str, Any], *, conversation: str = "a:personal-1",
             conversation_type: str = "personal", tenant: str = TENANT, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind, "id": f"f:{uuid.uuid4().hex[:12]}", "timestamp": fake.now().isoformat(),
        "channelId": "msteams", "serviceUrl": fake.service_url, "from": sender,
        "conversation": {"id": conversation, "conversationType": conversation_type, "tenantId": tenant},
        "recipient": {"id": f"28:{APP_ID}", "name": "review-bot"},
        "channelData": {"tenant": {"id": tenant}}, **extra,
    }


def message(fake: TeamsConnector, sender: dict[str, Any], text: str, **kw: Any) -> dict[str, Any]:
    return activity(fake, "message", sender, text=text, textFormat="plain", **kw)


def invoke(fake: TeamsConnector, sender: dict[str, Any], name: str, value: dict[str, Any],
           **kw: Any) -> dict[str, Any]:
    return activity(fake, "invoke", sender, name=name, value=value, **kw)


# --- the bot behind its real endpoint, for the door's tests --------------------------------------

BUSINESS_MANAGER = "aad-bm-0001"
BU_CHANNEL = "19:bu-channel@thread.tacv2"
MEDIA_CHANNEL = "19:media-channel@thread.tacv2"


class TeamsHarness:
    """A core on the test database, the Teams door on 127.0.0.1 (port 0) and its notifier,
    calling this fake connector; the protocol's business manager has a Teams id."""

    def __init__(self, fake: TeamsConnector, clock: Any, tmp_path: Any, database_url: str, *,
                 roles: dict[str, Any] | None = None) -> None:
        from bot.core import Core
        from bot.db import Database
        from bot.protocol import parse_protocol
        from bot.settings import Settings
        from handlers.teams.app import build_teams

        self.fake = fake
        db = Database(database_url)
        db.create_schema()
        protocol = parse_protocol({"preset": "working-together-2023", "roles": {"business_manager": {
            "name": "BM", "email": "bm@partnership.example", "teams_user_id": BUSINESS_MANAGER,
        }, **(roles or {})}}, "test")
        self.clock = clock
        self.core = Core(db=db, protocol=protocol, clock=clock, attachments_dir=tmp_path / "att")
        self.settings = Settings(
            _env_file=None, teams_app_id=APP_ID, teams_app_password=APP_PASSWORD, teams_tenant_id=TENANT,
            teams_business_unit_channel=BU_CHANNEL, teams_media_channel=MEDIA_CHANNEL,
            teams_service_url=fake.service_url, teams_openid_metadata_url=fake.metadata_url,
            teams_login_url=fake.url, teams_port=0, data_dir=tmp_path / "data",
        )
        self.app = build_teams(self.core, self.settings, background=False)
        self.core.notifiers = [self.app.notifier]
        self.url = self.app.start().url
        self.http = httpx.Client(timeout=30)

    def close(self) -> None:
        self.app.stop()
        self.http.close()
        self.core.db.engine.dispose()

    def send(self, activity: dict[str, Any], **kw: Any) -> httpx.Response:
        return self.fake.post_activity(self.url, activity, client=self.http, **kw)

    def say(self, text: str, aad: str = BUSINESS_MANAGER, **kw: Any) -> httpx.Response:
        return self.send(message(self.fake, user(aad), text, **kw))

    def fetch(self, data: dict[str, Any], aad: str = BUSINESS_MANAGER) -> dict[str, Any]:
        response = self.send(invoke(self.fake, user(aad), "task/fetch", {"data": data}))
        assert response.status_code == 200, response.text
        return dict(response.json())

    def submit(self, data: dict[str, Any], aad: str = BUSINESS_MANAGER, *,
               activity_id: str | None = None) -> dict[str, Any]:
        activity = invoke(self.fake, user(aad), "task/submit", {"data": data})
        if activity_id:
            activity["id"] = activity_id
        response = self.send(activity)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def execute(self, verb: str, data: dict[str, Any], aad: str = BUSINESS_MANAGER,
                conversation: str = BU_CHANNEL) -> dict[str, Any]:
        activity = invoke(self.fake, user(aad), "adaptiveCard/action",
                          {"action": {"type": "Action.Execute", "verb": verb, "data": data}},
                          conversation=conversation, conversation_type="channel")
        response = self.send(activity)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def post_of(self, kind: str, object_id: int) -> Any:
        from bot.chat_posts import first_post

        with self.core.db.session() as session:
            return first_post(session, "teams", kind, object_id)


def dialog_card(answer: dict[str, Any]) -> dict[str, Any]:
    """The Adaptive Card in a ``task/fetch`` / ``task/submit`` answer that continues the dialog."""
    assert answer["task"]["type"] == "continue", answer
    return dict(answer["task"]["value"]["card"]["content"])


def submit_data(card: dict[str, Any]) -> dict[str, Any]:
    """The data of a dialog card's submit button (what Teams merges the inputs into)."""
    [action] = [a for a in card["actions"] if a["type"] == "Action.Submit"]
    return dict(action["data"])


def inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in card["body"] if str(e.get("type", "")).startswith("Input.")}


def card_of(sent: Sent) -> dict[str, Any]:
    return dict(sent.body["attachments"][0]["content"])


def buttons_of(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button on a card, in its action sets (ShowCard's inner Execute included)."""
    found: list[dict[str, Any]] = []
    for element in card.get("body", []):
        if element.get("type") == "ActionSet":
            for action in element["actions"]:
                found.append(action)
                if action["type"] == "Action.ShowCard":
                    found += action["card"].get("actions", [])
    return found
