"""Replayed Slack requests act once (issue 9 item 5).

A view submission is named by its view's ``id`` and ``hash`` (the hash changes whenever the view
is updated, so a re-submission of the same form state is the same request); an event by its
``event_id``, which Slack keeps on its retries (``X-Slack-Retry-Num``). The key is recorded by
:func:`bot.doors.once` in the same transaction as what the request does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_bolt.response import BoltResponse

from bot import doors
from bot.core import Core

log = logging.getLogger(__name__)


def view_key(body: dict[str, Any]) -> str | None:
    """The key of a view submission, or None when Slack sent no view id."""
    view = body.get("view") or {}
    if not view.get("id"):
        return None
    return f"slack-view:{view.get('callback_id') or ''}:{view['id']}:{view.get('hash') or ''}"


def register(app: App, core: Core) -> None:
    @app.middleware
    def events_once(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id:
            next()
            return None
        # Recorded before the listener runs: an event acts at most once (App Home is re-published
        # on the next open; no event changes a case).
        _, first = doors.once(core, key=f"slack-event:{event_id}", surface="slack-event",
                              action=lambda session: {})
        if first:
            next()
            return None
        log.info("slack event %s delivered again; already handled", str(event_id)[:40])
        return BoltResponse(status=200, body="")
