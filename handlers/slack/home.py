"""App Home: the business unit's board and triage list; everyone else, their own referrals."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import select

from bot.core import Core
from bot.models import Case
from bot.settings import Settings
from bot.stages import CLOSED_STAGES
from bot.views import case_list, triage_list
from handlers.slack import blocks
from handlers.slack.access import Access, tell
from handlers.slack.commands import own_referrals

log = logging.getLogger(__name__)
MAX_BLOCKS = 100  # Slack's limit for a Home tab


def home_blocks(core: Core, access: Access, user_id: str) -> list[dict[str, Any]]:
    tz = core.calendar.tz
    if access.is_business_unit(user_id):
        with core.transaction() as session:
            rows, items = case_list(session, core), triage_list(session)
        built = blocks.dicts(blocks.board_blocks(rows, tz) + blocks.triage_blocks(items, tz))
    else:
        built = blocks.dicts(blocks.my_referrals_blocks(own_referrals(core, user_id)))
    if len(built) > MAX_BLOCKS:
        more = {"type": "context", "elements": [
            {"type": "mrkdwn", "text": "More than fits here: use `/serious-incident list`."}]}
        built = [*built[: MAX_BLOCKS - 1], more]
    return built


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
        if event.get("tab", "home") != "home":
            return
        publish_home(core, client, access, event["user"])

    @app.action("triage_assign")
    def triage_assign(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        item = body["actions"][0]["value"]
        if not access.is_business_unit(body["user"]["id"]):
            access.refuse(client, body, action="triage_assign", ref=None)
            return
        with core.transaction() as session:
            refs = list(session.exec(
                select(Case.ref).where(Case.stage.not_in([s.value for s in CLOSED_STAGES])).order_by(Case.id)
            ))
        if not refs:
            tell(client, body, "There is no open case to assign it to.")
            return
        client.views_open(trigger_id=body["trigger_id"],
                          view=blocks.assign_modal(int(item), refs[-100:], core.protocol))

    @app.action("triage_dismiss")
    def triage_dismiss(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        item = body["actions"][0]["value"]
        if not access.is_business_unit(body["user"]["id"]):
            access.refuse(client, body, action="triage_dismiss", ref=None)
            return
        client.views_open(trigger_id=body["trigger_id"], view=blocks.dismiss_modal(int(item)))
