"""App Home, rendered from the use cases (issue 11): the business unit's board and triage list;
everyone else, their own referrals; the media team, the open media enquiries and the Chair's
absences with the "Chair away" form and a Cancel button for each (process.md 6.3).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.actors import Actor
from bot.core import Core
from bot.errors import Invalid, ServiceError
from bot.privacy import safe_label
from bot.settings import Settings
from bot.usecases import cases, chair, media, triage
from handlers.slack import blocks
from handlers.slack.access import Access, tell
from handlers.slack.media_blocks import media_home_blocks
from handlers.slack.modals import answers, field_errors, form_modal
from handlers.slack.replay import action_key, first_time, view_key

log = logging.getLogger(__name__)
MAX_BLOCKS = 100  # Slack's limit for a Home tab
#: The media section's share of the Home tab: enough for a busy week; the rest via the command.
MAX_MEDIA_ENQUIRIES = 15


def media_section(core: Core, actor: Actor) -> list[dict[str, Any]]:
    """Open media enquiries and the Chair's absences, for the media team only."""
    if not actor.media_team:
        return []
    view = media.enquiries(core, actor).view or {}
    enquiries = view.get("enquiries", [])
    built = media_home_blocks(enquiries[:MAX_MEDIA_ENQUIRIES], view.get("absences", []),
                              now=core.clock.now(), tz=core.calendar.tz)
    if len(enquiries) > MAX_MEDIA_ENQUIRIES:
        built.insert(2 + MAX_MEDIA_ENQUIRIES, {"type": "context", "elements": [
            {"type": "mrkdwn", "text": "More open enquiries: use `/media-enquiry list`."}]})
    return built


def mailbox_warning(core: Core) -> list[Any]:
    """A banner while the mailbox is unreachable (issue 5 item 7): replies are not being read."""
    health, tz = core.mailbox, core.calendar.tz
    if health.reachable or health.since is None:
        return []
    since = blocks.local_time(health.since.isoformat(), tz)
    text = (
        f":warning: *The mailbox has been unreachable since {since}* "
        f"({health.failures} attempts): "
        f"{safe_label(health.last_error, field='mail error', limit=200, empty='')}\n"
        "Agencies' replies are not being read and emails are waiting in the outbox; nothing is lost, "
        "and both catch up when the mailbox is back. `review-bot check` says what is wrong."
    )
    return [SectionBlock(text=MarkdownTextObject(text=text))]


def home_blocks(core: Core, access: Access, user_id: str) -> list[dict[str, Any]]:
    tz, actor = core.calendar.tz, access.actor(user_id)
    board = cases.case_board(core, actor).view or {}
    if board.get("kind") == "board":
        items = triage.triage(core, actor)
        built = blocks.dicts(mailbox_warning(core) + blocks.board_blocks(board["rows"], tz)
                             + blocks.triage_blocks((items.view or {})["items"], tz, items.actions))
    else:
        built = blocks.dicts(blocks.my_referrals_blocks(board.get("rows", [])))
    # The media section is kept whole (a journalist's deadline is minutes away); the board
    # gives way to it and says where the rest is.
    extra = media_section(core, actor)
    room = MAX_BLOCKS - len(extra)
    if len(built) > room:
        more = {"type": "context", "elements": [
            {"type": "mrkdwn", "text": "More than fits here: use `/serious-incident list`."}]}
        built = [*built[: room - 1], more]
    return built + extra


def publish_home(core: Core, client: WebClient, access: Access, user_id: str) -> None:
    try:
        view = {"type": "home", "blocks": home_blocks(core, access, user_id)}
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError:
        log.exception("could not publish App Home for %s", user_id)


def register(app: App, core: Core, settings: Settings, access: Access | None = None) -> None:
    access = access or Access(core, settings, app.client)

    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            publish_home(core, client, access, event["user"])

    @app.action(re.compile(r"^triage_(assign|dismiss)$"))
    def triage_button(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        pressed = body["actions"][0]
        try:
            form = triage.triage_form(core, access.actor(body["user"]["id"]), int(pressed["value"]),
                                      pressed["action_id"])
        except (ServiceError, ValueError) as exc:
            if first_time(core, action_key(body)):  # a replayed press is refused (and told) once
                tell(client, body, str(exc))
            return
        if first_time(core, action_key(body)):  # a replayed press opens no second form
            client.views_open(trigger_id=body["trigger_id"], view=form_modal(form, home=True))

    @app.action("media_chair_away")
    def chair_away(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            form = chair.chair_away_form(core, access.actor(body["user"]["id"]))
        except ServiceError as exc:
            if first_time(core, action_key(body)):
                tell(client, body, str(exc))
            return
        if first_time(core, action_key(body)):
            client.views_open(trigger_id=body["trigger_id"], view=form_modal(form, home=True))

    @app.view("media_chair_away")
    def chair_away_submitted(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        user_id, values = body["user"]["id"], answers(view)
        try:
            result = chair.set_chair_away(core, access.actor(user_id), values, key=view_key(body))
        except Invalid as exc:
            ack(response_action="errors", errors=field_errors(exc.errors, list(values)))
            return
        except ServiceError as exc:
            ack(response_action="errors", errors=field_errors({"": str(exc)}, list(values)))
            return
        ack()
        if not result.repeat:
            publish_home(core, client, access, user_id)

    @app.action("media_absence_cancel")
    def absence_cancel(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]
        key = action_key(body)
        try:
            result = chair.cancel_chair_away(core, access.actor(user_id), int(body["actions"][0]["value"]),
                                             key=key)
        except (ServiceError, ValueError) as exc:
            if first_time(core, key):
                tell(client, body, str(exc))
            return
        if not result.repeat:
            publish_home(core, client, access, user_id)
