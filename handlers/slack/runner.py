"""Start the Slack side: Socket Mode when SLACK_APP_TOKEN is set, else HTTP, else nothing.

``start_slack(core, settings)`` returns a function that stops what it started, or None when
Slack is not configured. Neither mode blocks the caller.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.core import Core
from bot.settings import Settings
from handlers.slack.app import create_slack_app

log = logging.getLogger(__name__)


def start_slack(core: Core, settings: Settings) -> Callable[[], None] | None:
    if settings.slack_bot_token is None:
        log.info("slack off: SLACK_BOT_TOKEN is not set")
        return None
    if settings.slack_app_token is not None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        app = create_slack_app(core, settings)
        handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
        handler.connect()  # non-blocking: the websocket runs on its own threads
        log.info("slack: socket mode connected")
        return handler.close
    if settings.slack_signing_secret is not None:
        app = create_slack_app(core, settings)
        # Bolt's built-in HTTP server: fine behind a reverse proxy for a single partnership; for
        # more, mount the app on a production ASGI/WSGI server (libraries.md section 3).
        from slack_bolt.app.app import SlackAppDevelopmentServer

        server = SlackAppDevelopmentServer(port=settings.port, path="/slack/events", app=app)
        thread = threading.Thread(target=server.start, name="slack-http", daemon=True)
        thread.start()
        log.info("slack: HTTP on port %s at /slack/events", settings.port)

        def stop() -> None:
            server._server.shutdown()
            server._server.server_close()

        return stop
    log.warning("slack off: set SLACK_APP_TOKEN (socket mode) or SLACK_SIGNING_SECRET (HTTP)")
    return None
