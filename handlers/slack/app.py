"""``create_slack_app(core, settings)``: the bolt App with every listener registered.

Nothing happens at import (architecture rule 8). Building the App calls ``auth.test`` once.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.core import Core
from bot.privacy import log_message
from bot.settings import Settings
from handlers.slack import actions, commands, home, media, replay, views
from handlers.slack.access import Access

log = logging.getLogger(__name__)


def build_client(settings: Settings) -> WebClient:
    """The Web API client, retrying connection errors, 429s (honouring Retry-After) and 5xx."""
    if settings.slack_bot_token is None:
        raise ValueError("SLACK_BOT_TOKEN is not set")
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def create_slack_app(
    core: Core, settings: Settings, *, client: WebClient | None = None,
    process_before_response: bool = False,
) -> App:
    client = client or build_client(settings)
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = App(
        signing_secret=secret, client=client,  # the token comes from the client
        # Socket Mode has no signature (it authenticates with the app token); HTTP always verifies.
        request_verification_enabled=secret is not None,
        process_before_response=process_before_response,
    )
    access = Access(core, settings, client)
    replay.register(app, core)
    for module in (commands, views, actions, home, media):
        module.register(app, core, settings, access)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        # The message may quote what someone typed: only its redacted form and the frames are
        # logged, never the exception text itself (process.md 8.4; bot.privacy).
        frames = "".join(traceback.format_tb(error.__traceback__))
        log.error("slack listener failed (%s): %s\n%s", body.get("type"), log_message(error), frames)

    return app
