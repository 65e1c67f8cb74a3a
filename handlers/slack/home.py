"""App Home: the business unit's board and triage list; everyone else, their own referrals.

The media team (the business unit and the officials the media protocol names) also sees the open
media enquiries and the Chair's absences, with the "Chair away" form and a Cancel button for each
absence (process.md 6.3: a time-bounded delegation). Every press and form is checked here.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock
from sqlmodel import Session, col, select

from bot import doors, media, media_team
from bot import media_report as report
from bot.core import Core
from bot.errors import ServiceError
from bot.models import Case
from bot.privacy import safe_label, safe_message
from bot.settings import Settings
from bot.stages import CLOSED_STAGES
from bot.views import case_list, triage_list
from handlers.slack import blocks, modals
from handlers.slack.access import Access, actor, tell
from handlers.slack.commands import own_referrals
from handlers.slack.media import TEAM_ONLY, is_team, value
from handlers.slack.media_blocks import chair_away_modal, media_home_blocks
from handlers.slack.replay import view_key

log = logging.getLogger(__name__)
MAX_BLOCKS = 100  # Slack's limit for a Home tab
#: The media section's share of the Home tab: enough for a busy week; the rest via the command.
MAX_MEDIA_ENQUIRIES = 15
MAX_ABSENCES = 5


def media_section(core: Core, access: Access, user_id: str) -> list[dict[str, Any]]:
    """Open media enquiries and the Chair's absences, for the media team only."""
    if not is_team(core, access, user_id):
        return []
    with core.transaction() as session:
        enquiries = media.open_enquiries(session)
        views = [report.enquiry_view(session, core, e) for e in enquiries[:MAX_MEDIA_ENQUIRIES]]
        absences = media_team.chair_absences(session, core)[:MAX_ABSENCES]
    built = media_home_blocks(views, absences, core.protocol, now=core.clock.now(), tz=core.calendar.tz)
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
    tz = core.calendar.tz
    if access.is_business_unit(user_id):
        with core.transaction() as session:
            rows, items = case_list(session, core), triage_list(session)
        built = blocks.dicts(
            mailbox_warning(core) + blocks.board_blocks(rows, tz) + blocks.triage_blocks(items, tz)
        )
    else:
        built = blocks.dicts(blocks.my_referrals_blocks(own_referrals(core, user_id)))
    # The media section is kept whole (a journalist's deadline is minutes away); the board
    # gives way to it and says where the rest is.
    extra = media_section(core, access, user_id)
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
                select(Case.ref).where(col(Case.stage).not_in([s.value for s in CLOSED_STAGES]))
                .order_by(col(Case.id))
            ))
        if not refs:
            tell(client, body, "There is no open case to assign it to.")
            return
        client.views_open(trigger_id=body["trigger_id"],
                          view=modals.assign_modal(int(item), refs[-100:], core.protocol))

    @app.action("triage_dismiss")
    def triage_dismiss(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        item = body["actions"][0]["value"]
        if not access.is_business_unit(body["user"]["id"]):
            access.refuse(client, body, action="triage_dismiss", ref=None)
            return
        client.views_open(trigger_id=body["trigger_id"], view=modals.dismiss_modal(int(item)))

    @app.action("media_chair_away")
    def chair_away(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        if not is_team(core, access, body["user"]["id"]):
            media.record_refusal(core, ref="", actor=actor(body["user"]["id"]), action="chair_away",
                                 reason=TEAM_ONLY)
            tell(client, body, TEAM_ONLY)
            return
        modal = chair_away_modal(core.protocol, core.clock.now())
        client.views_open(trigger_id=body["trigger_id"], view=modal)

    @app.view("media_chair_away")
    def chair_away_submitted(ack: Ack, body: dict[str, Any], client: WebClient, view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        team = is_team(core, access, user_id)
        if not team:  # a forged submission
            media.record_refusal(core, ref="", actor=actor(user_id), action="chair_away",
                                 reason=TEAM_ONLY)
            ack(response_action="errors", errors={"ends_at": TEAM_ONLY})
            return
        values = view["state"]["values"]
        starts, ends = value(values, "starts_at"), value(values, "ends_at")
        delegate = value(values, "delegate")
        errors = {b: "Choose a date and time." for b, v in (("starts_at", starts), ("ends_at", ends))
                  if v is None}
        if errors:
            ack(response_action="errors", errors=errors)
            return
        def record(session: Session) -> dict[str, Any]:
            media_team.set_chair_absence(session, core, starts_at=starts, ends_at=ends, actor=actor(user_id),
                                    delegate=delegate or None, team_member=team)
            return {}

        try:
            _, first = doors.once(core, key=view_key(body), surface="slack-view", action=record)
        except ServiceError as exc:
            block = "delegate" if ("delegate" in str(exc) or "role" in str(exc)) else "ends_at"
            ack(response_action="errors", errors={block: str(exc)[:300]})
            return
        ack()
        if not first:
            return
        if json.loads(view.get("private_metadata") or "{}").get("home"):
            publish_home(core, client, access, user_id)

    @app.action("media_absence_cancel")
    def absence_cancel(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]
        team = is_team(core, access, user_id)
        if not team:
            media.record_refusal(core, ref="", actor=actor(user_id), action="cancel_chair_absence",
                                 reason=TEAM_ONLY)
            tell(client, body, TEAM_ONLY)
            return
        try:
            with core.transaction() as session:
                media_team.cancel_chair_absence(session, core, int(body["actions"][0]["value"]),
                                           actor=actor(user_id), team_member=team)
        except (ServiceError, ValueError) as exc:
            tell(client, body, safe_message(str(exc)))
            return
        publish_home(core, client, access, user_id)
