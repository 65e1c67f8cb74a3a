"""Replayed Slack requests act once (issue 9 item 5).

A view submission is named by its view's ``id`` and ``hash`` (the hash changes whenever the view
is updated, so a re-submission of the same form state is the same request); an event by its
``event_id``, which Slack keeps on its retries (``X-Slack-Retry-Num``). The key is recorded by
:func:`bot.doors.once` in the same transaction as what the request does.

A block action (a card or alert button) is named by the ``trigger_id`` Slack gives each user
action, with the ``action_ts``, the action id and the user; a slash command by its ``trigger_id``.
The same signed body replayed within Slack's five-minute signature window carries the same ids,
so it gets a quiet ack (decision 0018, addendum).
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


def action_key(body: dict[str, Any]) -> str | None:
    """The key of a block action (one button press), or None when Slack sent no trigger."""
    pressed = (body.get("actions") or [{}])[0]
    trigger, when = body.get("trigger_id") or "", pressed.get("action_ts") or ""
    if not trigger and not when:
        return None
    user = (body.get("user") or {}).get("id") or ""
    return f"slack-action:{pressed.get('action_id') or ''}:{user}:{when}:{trigger}"


def command_key(body: dict[str, Any]) -> str | None:
    """The key of a slash command, or None when Slack sent no trigger."""
    trigger = body.get("trigger_id")
    return f"slack-command:{body.get('command') or ''}:{trigger}" if trigger else None


def first_time(core: Core, key: str | None) -> bool:
    """Record ``key`` now for a request that changes nothing in the database (it opens a form or
    reads): True the first time, False for a replay. Without a key it is always the first."""
    _, first = doors.once(core, key=key, surface="slack", action=lambda session: {})
    return first


def already_done(core: Core, key: str | None) -> bool:
    """Whether a request under ``key`` has been recorded (its use case ran, or it was read)."""
    if not key:
        return False
    with core.transaction() as session:
        return doors.seen(session, key[:255]) is not None


def quiet() -> BoltResponse:
    """The answer to a replay: an empty 200, so that Slack (or whoever replays) stops."""
    return BoltResponse(status=200, body="")


def register(app: App, core: Core) -> None:
    @app.middleware
    def actions_once(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
        # A press that acts is recorded by its use case in the same transaction (doors.once); one
        # that opens a form by the listener (first_time). Here a replay of either stops before
        # the listener: it neither acts again nor tells anyone again.
        key = action_key(body) if body.get("type") == "block_actions" else None
        if already_done(core, key):
            log.info("slack block action delivered again; already handled")
            return quiet()
        next()
        return None

    @app.middleware
    def commands_once(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
        # A slash command opens a form or reads (and a read is audited): recorded before the
        # listener, so a replay opens no second modal and logs no second access.
        key = command_key(body) if body.get("command") else None
        if key is None or first_time(core, key):
            next()
            return None
        log.info("slack command delivered again; already handled")
        return quiet()

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
