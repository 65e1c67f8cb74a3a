"""Incoming Teams activities are authenticated before anything runs (issue 11 item 5).

Real RS256 JWTs from the local fake token issuer (tests/support/teams_connector.py), sent over
HTTP to the real endpoint. A refused request gets 401 and the dispatcher never runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.clock import FixedClock
from handlers.teams.auth import BotFrameworkAuth
from handlers.teams.connector import Connector, ConnectorError
from handlers.teams.server import MAX_BODY, TeamsServer
from tests.support.teams_connector import (
    APP_ID,
    APP_PASSWORD,
    TENANT,
    TeamsConnector,
    message,
    new_key,
    user,
)

NOW = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def fake(clock: FixedClock) -> Iterator[TeamsConnector]:
    server = TeamsConnector(now=clock.now).start()
    yield server
    server.stop()


@pytest.fixture
def endpoint(fake: TeamsConnector, clock: FixedClock) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    def dispatch(activity: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        seen.append(activity)
        return 200, {"ok": True}

    auth = BotFrameworkAuth(app_id=APP_ID, tenant_id=TENANT, metadata_url=fake.metadata_url, now=clock.now)
    server = TeamsServer("127.0.0.1", 0, "/api/messages", auth, dispatch).start()
    yield server.url, seen
    server.stop()


def hello(fake: TeamsConnector, **kw: Any) -> dict[str, Any]:
    return message(fake, user("aad-someone"), "help", **kw)


def test_a_properly_signed_activity_is_dispatched(fake, endpoint) -> None:
    url, seen = endpoint
    response = fake.post_activity(url, hello(fake))
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert [a["text"] for a in seen] == ["help"]


@pytest.mark.parametrize("case", [
    "unsigned", "not a jwt", "forged key", "known kid forged key", "wrong audience", "expired",
    "not yet valid", "wrong issuer", "other service url", "other tenant", "not endorsed", "hs256",
])
def test_a_bad_token_is_refused_and_nothing_runs(fake, endpoint, clock, case: str) -> None:
    url, seen = endpoint
    activity = hello(fake)
    token: str | None
    match case:
        case "unsigned":
            token = None
        case "not a jwt":
            token = "abc.def"
        case "forged key":
            token = fake.inbound_token(key=new_key(), kid="attacker")
        case "known kid forged key":
            token = fake.inbound_token(key=new_key())
        case "wrong audience":
            token = fake.inbound_token(audience="another-bot")
        case "expired":  # beyond the one-minute leeway
            token = fake.inbound_token(issued=NOW - timedelta(hours=1, minutes=2))
        case "not yet valid":
            token = fake.inbound_token(issued=NOW + timedelta(minutes=2))
        case "wrong issuer":
            token = fake.inbound_token(issuer="https://sts.windows.net/evil/")
        case "other service url":
            token = fake.inbound_token(service_url="https://elsewhere.example/")
        case "other tenant":
            activity = hello(fake, tenant="99999999-0000-4000-8000-000000000000")
            token = "sign"
        case "not endorsed":
            activity["channelId"] = "webchat"
            token = "sign"
        case "hs256":
            import jwt

            token = jwt.encode({"iss": "https://api.botframework.com", "aud": APP_ID, "exp": 4e9,
                                "serviceurl": fake.service_url}, "secret" * 6, algorithm="HS256")
    response = fake.post_activity(url, activity, token=token)
    assert response.status_code == 401
    assert seen == []


def test_the_leeway_accepts_a_token_just_past_its_expiry(fake, endpoint) -> None:
    url, seen = endpoint
    token = fake.inbound_token(issued=NOW - timedelta(hours=1, seconds=30))
    assert fake.post_activity(url, hello(fake), token=token).status_code == 200
    assert len(seen) == 1


def test_rolled_over_keys_are_fetched_again(fake, endpoint, clock) -> None:
    url, seen = endpoint
    assert fake.post_activity(url, hello(fake)).status_code == 200
    fake.key, fake.kid = new_key(), "teams-key-2"  # Microsoft rolls its keys over
    # An unknown kid refreshes at most every five minutes: at once it is refused...
    assert fake.post_activity(url, hello(fake)).status_code == 401
    clock.advance(timedelta(minutes=6))
    # ...and once the refresh is allowed, the new key is read from the metadata.
    assert fake.post_activity(url, hello(fake)).status_code == 200
    assert len(seen) == 2


def test_oversized_and_malformed_bodies_are_refused_unread(fake, endpoint) -> None:
    url, seen = endpoint
    big = httpx.post(url, content=b"{" + b" " * (MAX_BODY + 10) + b"}",
                     headers={"Authorization": "Bearer x", "Content-Type": "application/json"})
    assert big.status_code == 413
    assert httpx.post(url, content=b"[1, 2]", headers={"Content-Type": "application/json"}).status_code == 400
    assert httpx.post(url.replace("/api/messages", "/other"), content=b"{}").status_code == 404
    assert seen == []


def test_outgoing_calls_carry_a_client_credentials_token(fake, clock) -> None:
    connector = Connector(app_id=APP_ID, password=APP_PASSWORD, tenant_id=TENANT, login_url=fake.url,
                          now=clock.now)
    first = connector.send(fake.service_url, "19:channel@thread.tacv2", {"type": "message", "text": "x"})
    connector.update(fake.service_url, "19:channel@thread.tacv2", first, {"type": "message", "text": "y"})
    chat = connector.open_personal_chat(fake.service_url, "aad-1", TENANT)
    assert chat == "a:dm-aad-1"
    assert [s.method for s in fake.sent] == ["create", "update", "conversation"]
    assert fake.tokens_issued == 1  # cached until five minutes before it expires
    clock.advance(timedelta(minutes=56))
    connector.send(fake.service_url, chat, {"type": "message", "text": "z"})
    assert fake.tokens_issued == 2


def test_the_connector_retries_rate_limits_and_server_errors(fake, clock) -> None:
    connector = Connector(app_id=APP_ID, password=APP_PASSWORD, tenant_id=TENANT, login_url=fake.url,
                          now=clock.now)
    fake.fail_next = [429, 503]
    connector.send(fake.service_url, "19:c", {"type": "message", "text": "x"})
    assert len(fake.of("create")) == 1
    fake.fail_next = [500, 500, 500]
    with pytest.raises(ConnectorError, match="500"):
        connector.send(fake.service_url, "19:c", {"type": "message", "text": "x"})


def test_a_wrong_client_secret_gets_no_token(fake, clock) -> None:
    connector = Connector(app_id=APP_ID, password="wrong", tenant_id=TENANT, login_url=fake.url,
                          now=clock.now)
    with pytest.raises(ConnectorError, match="401"):
        connector.send(fake.service_url, "19:c", {"type": "message", "text": "x"})
    assert fake.sent == []
