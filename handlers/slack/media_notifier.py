"""The media enquiry's Slack side (issue 4): the alert in the comms channel, updated in place, its
thread replies and the DMs to the people the routing names. Never the journalist's words."""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, col, select

from bot import chat_posts, fanout, media, media_report, media_team, replies
from bot.core import Core
from bot.models import ChatPost, MediaEnquiry
from bot.retention_chat import record_reply
from bot.settings import Settings
from handlers.slack.blocks import escape
from handlers.slack.media_blocks import about_text, alert_blocks, alert_text, deadline_text, outlet_label
from handlers.slack.posting import Happened, posting_lease

log = logging.getLogger(__name__)

SURFACE = "slack"
#: How Slack draws the core's signs (bot.replies), under the alert and under the case card.
SIGNS = {"warning": ":warning:", "overdue": ":red_circle:", "due_soon": ":large_orange_circle:",
         "unacknowledged": ":rotating_light:", "alarm": ":alarm_clock:"}

#: One alert post at a time within this process (posting_lease does it across instances).
_media_lock = threading.Lock()


def _alert_posted(core: Core, media_id: int) -> bool:
    with core.db.session() as session:
        enquiry = session.get(MediaEnquiry, media_id)
        return enquiry is None or alert_of(session, media_id) is not None


def alert_of(session: Session, media_id: int) -> ChatPost | None:
    """The enquiry's alert in Slack, if it has been posted."""
    return chat_posts.first_post(session, SURFACE, chat_posts.MEDIA, media_id)


def media_channel(settings: Settings) -> str:
    """The comms channel; without one, the business unit channel (the business manager is there)."""
    return settings.slack_comms_channel or settings.slack_business_unit_channel


def post_or_update_media_alert(
    core: Core, client: WebClient, settings: Settings, media_id: int,
) -> tuple[str | None, bool]:
    """Update the enquiry's alert in place, or post it. Returns its ts and whether it is new."""
    with _media_lock:
        with core.db.transaction() as session:
            enquiry = session.get(MediaEnquiry, media_id)
            if enquiry is None:
                return None, False
            view = media_report.enquiry_view(session, core, enquiry)
            post = alert_of(session, media_id)
            where = (post.id, post.conversation, post.message_id) if post else None
            closed = enquiry.status == "closed"
        blocks = alert_blocks(view, core.protocol, media_team.media_people(core), now=core.clock.now(),
                              tz=core.calendar.tz)
        if where is not None:
            post_id, channel, ts = where
            assert post_id is not None  # a stored row
            client.chat_update(channel=channel, ts=ts, text=alert_text(view), blocks=blocks)
            with core.db.transaction() as session:
                chat_posts.mark_updated(session, core, post_id)
            return ts, False
        if closed or not media_channel(settings):
            return None, False
        with posting_lease(core, f"slack-media:{media_id}") as mine:
            if not mine or _alert_posted(core, media_id):
                return None, False  # another instance is posting it (and its DMs), or just has
            posted = client.chat_postMessage(channel=media_channel(settings), text=alert_text(view),
                                             blocks=blocks)
            with core.transaction() as session:  # records time to notify (issue 4 item 6)
                media.mark_posted(session, core, media_id, str(posted["channel"]), str(posted["ts"]))
        return str(posted["ts"]), True


def dm(client: WebClient, user_id: str, text: str) -> None:
    """One direct message; a failure is logged (by user id only) and never stops the others."""
    try:
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        client.chat_postMessage(channel=channel, text=text)
    except SlackApiError:
        log.exception("could not send a direct message to %s", user_id)


def _where(channel: str | None) -> str:
    return f"See the alert in <#{channel}>." if channel else "See `/media-enquiry list`."


def media_fan_out(core: Core, client: WebClient, media_id: int) -> int:
    """D-M1, M-1: DM the people the core says are told of a new enquiry (bot.fanout: the
    spokesperson, the press office, the business manager) whom Slack can reach. Returns count."""
    with core.db.transaction() as session:
        enquiry = session.get(MediaEnquiry, media_id)
        if enquiry is None:
            return 0
        view = media_report.enquiry_view(session, core, enquiry)
        routing = media.routing_of(enquiry)
        audience = fanout.media_audience(core, enquiry)
        post = alert_of(session, media_id)
        channel = post.conversation if post else None
    why: dict[str, list[str]] = {}
    for person in audience:
        uid = person.user_id(SURFACE)
        if uid:  # one DM per Slack user, with every reason they are told for
            reasons = why.setdefault(uid, [])
            reasons += [r for r in person.reasons if r not in reasons]
    tz = core.calendar.tz
    case = f" (case {view['case_ref']})" if view.get("case_ref") else ""
    warning = ""
    if routing.fallback:
        warning = (f"\n:warning: The Chair and the Deputy Chair are not available: "
                   f"{routing.spokesperson.label} speaks (process.md 6.3).")
    for uid, roles_of in why.items():
        dm(client, uid, (
            f":newspaper: Media enquiry *{view['ref']}* from {outlet_label(view)}: "
            f"{about_text(view, core.protocol)}{case}.\n"
            f"Journalist's deadline: {deadline_text(view, core.clock.now(), tz)}. "
            f"Speaks: {escape(routing.spokesperson.display)}. You are told as {' and '.join(roles_of)}."
            f"{warning}\n{_where(channel)}"
        ))
    return len(why)


def media_reply_text(core: Core, view: dict[str, Any], event: Happened) -> str | None:
    """The thread reply under the alert for an event (the core's words, bot.replies); None: no reply."""
    reply = replies.media_reply(core, view, event.kind, event.detail)
    return reply.render(SIGNS, escape) if reply else None


def deliver_media(
    core: Core, client: WebClient, settings: Settings, media_id: int, events: list[Happened],
) -> None:
    """The alert, its thread replies and the DMs for the events of one media enquiry."""
    ts, new = post_or_update_media_alert(core, client, settings, media_id)
    kinds = {e.kind for e in events}
    # DMs go once: with the first post of the alert, or on arrival when there is no channel.
    if new or (ts is None and "media_enquiry_received" in kinds):
        media_fan_out(core, client, media_id)
    with core.db.transaction() as session:
        enquiry = session.get(MediaEnquiry, media_id)
        if enquiry is None:
            return
        view = media_report.enquiry_view(session, core, enquiry)
        post = alert_of(session, media_id)
        channel = post.conversation if post else None
        escalated = fanout.unacknowledged_audience(core, enquiry)
    for event in events:
        text = media_reply_text(core, view, event)
        if text and channel and ts:
            sent = client.chat_postMessage(channel=channel, thread_ts=ts, text=text)
            record_reply(core, SURFACE, channel, ts, str(sent.get("ts") or ""))  # bot.retention_chat
        if event.kind != "media_alert_repeated":
            continue
        # The unacknowledged alert goes to the business manager too (issue 4 item 3).
        for uid in dict.fromkeys(u for p in escalated if (u := p.user_id(SURFACE))):
            dm(client, uid, (
                f":rotating_light: Media enquiry *{view['ref']}* from {outlet_label(view)} has not been "
                f"acknowledged (repeat {event.detail.get('repeat', '')}). Journalist's deadline: "
                f"{deadline_text(view, core.clock.now(), core.calendar.tz)}. {_where(channel)}"
            ))


def repost_missing_media_alerts(core: Core, client: WebClient, settings: Settings) -> int:
    """Post the alert of every open enquiry that has none (Slack was down when it arrived), with
    its DMs. Safe to run on every tick."""
    if not media_channel(settings):
        return 0
    with core.db.transaction() as session:
        ids = list(session.exec(
            select(MediaEnquiry.id).where(
                chat_posts.unposted(SURFACE, chat_posts.MEDIA, MediaEnquiry.id),
                col(MediaEnquiry.status).in_(media.OPEN),
            ).order_by(col(MediaEnquiry.id))
        ))
    posted = 0
    for media_id in ids:
        try:
            if media_id is None:
                continue
            ts, new = post_or_update_media_alert(core, client, settings, media_id)
            if new:
                media_fan_out(core, client, media_id)
            posted += bool(ts)
        except Exception:
            log.exception("could not post the alert for media enquiry %s", media_id)
    return posted
