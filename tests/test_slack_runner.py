"""start_slack: nothing without tokens, HTTP with a signing secret, Socket Mode with an app token."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler

from bot.settings import Settings
from handlers.slack.app import build_client
from handlers.slack.runner import start_slack
from tests.support.slack_api import SlackAPI, SlackHarness
from tests.support.slack_api import slack_api as slack_api  # the fixture


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_no_tokens_no_slack(slack_api: SlackAPI, tmp_path: Path, schema_database_url: str) -> None:
    harness = SlackHarness(slack_api, tmp_path, schema_database_url)
    assert start_slack(harness.core, Settings(_env_file=None)) is None
    only_bot = Settings(_env_file=None, slack_bot_token="xoxb-test", slack_api_url=slack_api.url)
    assert start_slack(harness.core, only_bot) is None


def test_the_client_retries_rate_limits_and_server_errors() -> None:
    client = build_client(Settings(_env_file=None, slack_bot_token="xoxb-test"))
    kinds = {type(h) for h in client.retry_handlers}
    assert {RateLimitErrorRetryHandler, ServerErrorRetryHandler} <= kinds


def test_http_mode_serves_signed_requests_only(
    slack_api: SlackAPI, tmp_path: Path, schema_database_url: str,
) -> None:
    harness = SlackHarness(slack_api, tmp_path, schema_database_url)
    port = free_port()
    settings = harness.settings.model_copy(update={"port": port})
    stop = start_slack(harness.core, settings)
    assert stop is not None
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/slack/events", data=b"command=/serious-incident",
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "X-Slack-Signature": "v0=forged", "X-Slack-Request-Timestamp": str(int(time.time()))},
        )
        for _ in range(50):
            try:
                urllib.request.urlopen(request, timeout=2)
            except urllib.error.HTTPError as exc:
                assert exc.code == 401
                break
            except urllib.error.URLError:
                time.sleep(0.05)
        else:
            pytest.fail("the HTTP server never answered")
    finally:
        stop()


def test_socket_mode_when_an_app_token_is_set(
    slack_api: SlackAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, schema_database_url: str,
) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    seen: list[str] = []
    monkeypatch.setattr(SocketModeHandler, "connect", lambda self: seen.append("connect"))
    monkeypatch.setattr(SocketModeHandler, "close", lambda self: seen.append("close"))
    harness = SlackHarness(slack_api, tmp_path, schema_database_url)
    settings = Settings(_env_file=None, **{**harness.settings.model_dump(), "slack_app_token": "xapp-test",
                                           "slack_bot_token": "xoxb-test", "slack_signing_secret": None})
    stop = start_slack(harness.core, settings)
    assert stop is not None and seen == ["connect"]
    stop()
    assert seen == ["connect", "close"]
