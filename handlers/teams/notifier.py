"""The Teams side of the notifier seam: case cards and media alerts kept up to date, and DMs.

``TeamsNotifier.committed`` runs after each commit whatever door the change came through
(Slack, Teams, email, the CLI, the clock). The case card goes to TEAMS_BUSINESS_UNIT_CHANNEL,
the media alert to TEAMS_MEDIA_CHANNEL; each is posted once (a ChatPost row, surface "teams")
and updated in place. Who is told in person is the core's decision (bot.fanout); this only
delivers to the people with a Teams id. Cards render the core's views: references, stages,
dates, agencies, deadlines, never typed text (process.md 8.4).

Events get a reply in the card's (or the alert's) channel thread, in the core's words
(bot.replies, the same events and words as Slack), sent as plain text: the Bot Connector's
reply to the card's activity id. An alert still not acknowledged is DMed to the people
bot.fanout.unacknowledged_audience names (the business manager), as Slack does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

from sqlmodel import col, select

from bot import chat_posts, fanout, leases, media, media_report, replies
from bot.core import Core
from bot.models import Case, Event, MediaEnquiry
from bot.privacy import plain_label
from bot.retention_chat import record_reply
from bot.settings import Settings
from bot.stages import CLOSED_STAGES
from bot.views import case_view
from handlers.teams import offers
from handlers.teams.cards import card_message, text_message
from handlers.teams.connector import Connector
from handlers.teams.report_post import post_summary, unposted_month
from handlers.teams.text import local_time, time_left
from handlers.teams.views import case_card, media_card

log = logging.getLogger(__name__)

SURFACE = "teams"
QUIET = frozenset({"action_refused", "auto_reply", "return_supplement", "media_action_refused"})
#: Long enough for one post with the connector's retries; a dead holder's lease lapses.
POST_LEASE = timedelta(minutes=2)
#: How Teams draws the core's signs (bot.replies): emoji characters in a plain-text message.
SIGNS = {"warning": "⚠️", "overdue": "🔴", "due_soon": "🟠", "unacknowledged": "🚨", "alarm": "⏰"}
Happened = tuple[int | None, str, dict]


class TeamsNotifier:
    surface = SURFACE

    def __init__(self, core: Core, settings: Settings, connector: Connector, *, background: bool = True):
        self.core = core
        self.settings = settings
        self.connector = connector
        self.service_url = settings.teams_service_url
        self._lock = threading.Lock()  # one post per card within this process
        self._chats: dict[str, str] = {}  # Teams user id -> their 1:1 conversation
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="teams-notifier") if background else None

    # --- the seam -------------------------------------------------------------------------
    def committed(self, case_ids: set[int], events: list[Event]) -> None:
        try:
            kinds = [(e.case_id, e.kind, dict(e.detail or {})) for e in events]
            if self._executor is not None:
                self._executor.submit(self._deliver, set(case_ids), kinds)
            else:
                self._deliver(set(case_ids), kinds)
        except Exception:  # never out of committed(): the commit already happened
            log.exception("teams notifier could not take events for cases %s", sorted(case_ids))

    def delete_post(self, conversation: str, message_id: str) -> None:
        """Delete a post after the retention period (bot.retention_chat); gone already is fine."""
        self.connector.delete(self.service_url, conversation, message_id)

    def flush(self, timeout: float = 10.0) -> None:
        if self._executor is not None:
            done: Future[None] = self._executor.submit(lambda: None)
            done.result(timeout=timeout)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    def _deliver(self, case_ids: set[int], events: list[Happened]) -> None:
        for month in [str(d.get("posted_for")) for _, k, d in events if k == "monthly_summary"]:
            self.post_summary(month)
        for case_id in sorted(case_ids):
            mine = [(k, d) for c, k, d in events if c == case_id]
            if all(k in QUIET or (k.startswith("media_") and k != "media_enquiry_received") for k, _ in mine):
                continue
            try:
                if self.post_case(case_id) is not None:
                    self.case_replies(case_id, mine)
            except Exception:
                log.exception("teams notifier failed for case %s; the sweep re-posts", case_id)
        media_ids = sorted({int(d["media_id"]) for _, k, d in events if k.startswith("media_")
                            and k not in QUIET and isinstance(d.get("media_id"), int)})
        for media_id in media_ids:
            mine = [(k, d) for _, k, d in events if d.get("media_id") == media_id]
            try:
                new = self.post_media(media_id)
                arrived = any(k == "media_enquiry_received" for k, _ in mine)
                if new or (arrived and not self.media_channel()):
                    self.media_fan_out(media_id)
                self.media_replies(media_id, mine)
            except Exception:
                log.exception("teams notifier failed for media enquiry %s; the sweep re-posts", media_id)

    # --- the case card --------------------------------------------------------------------
    def post_case(self, case_id: int) -> str | None:
        """Update the case's card in place, or post it in the business unit channel."""
        channel = self.settings.teams_business_unit_channel
        with self._lock:
            with self.core.db.transaction() as session:
                case = session.get(Case, case_id)
                if case is None:
                    return None
                view = case_view(session, self.core, case)
                post = chat_posts.first_post(session, SURFACE, chat_posts.CASE, case_id)
                where = (post.id, post.conversation, post.message_id) if post else None
                closed = case.stage in CLOSED_STAGES
            activity = card_message(case_card(view, offers.case_card_actions(view["stage"], view),
                                              now=self.core.clock.now(), tz=self.core.calendar.tz),
                                    f"{view['ref']}: {view['stage_label']}")
            if where is not None:
                post_id, conversation, message_id = where
                assert post_id is not None  # a stored row
                self.connector.update(self.service_url, conversation, message_id, activity)
                with self.core.db.transaction() as session:
                    chat_posts.mark_updated(session, self.core, post_id)
                return message_id
            if closed or not channel:
                return None
            with self._lease(f"teams-card:{case_id}") as ours:
                if not ours or self._posted(chat_posts.CASE, case_id):
                    return None
                message_id = self.connector.send(self.service_url, channel, activity)
                with self.core.db.transaction() as session:
                    if session.get(Case, case_id) is not None:
                        chat_posts.record_post(session, self.core, SURFACE, chat_posts.CASE, case_id,
                                               channel, message_id)
            return message_id

    # --- the media alert ------------------------------------------------------------------
    def media_channel(self) -> str:
        return self.settings.teams_media_channel or self.settings.teams_business_unit_channel

    def post_media(self, media_id: int) -> bool:
        """Update the enquiry's alert in place, or post it; True when posted now (first time)."""
        with self._lock:
            with self.core.db.transaction() as session:
                enquiry = session.get(MediaEnquiry, media_id)
                if enquiry is None:
                    return False
                view = media_report.enquiry_view(session, self.core, enquiry)
                post = chat_posts.first_post(session, SURFACE, chat_posts.MEDIA, media_id)
                where = (post.id, post.conversation, post.message_id) if post else None
            activity = card_message(
                media_card(view, offers.media_card_actions(view["status"]), now=self.core.clock.now(),
                           tz=self.core.calendar.tz),
                f"Media enquiry {view['ref']} from {plain_label(view.get('outlet'), field='outlet')}")
            if where is not None:
                post_id, conversation, message_id = where
                assert post_id is not None  # a stored row
                self.connector.update(self.service_url, conversation, message_id, activity)
                with self.core.db.transaction() as session:
                    chat_posts.mark_updated(session, self.core, post_id)
                return False
            channel = self.media_channel()
            if view["status"] == "closed" or not channel:
                return False
            with self._lease(f"teams-media:{media_id}") as ours:
                if not ours or self._posted(chat_posts.MEDIA, media_id):
                    return False
                message_id = self.connector.send(self.service_url, channel, activity)
                with self.core.transaction() as session:  # records the time to notify (issue 4 item 6)
                    media.mark_posted(session, self.core, media_id, channel, message_id, surface=SURFACE)
            return True

    def media_fan_out(self, media_id: int) -> int:
        """D-M1, M-1: DM the people the core names (bot.fanout.media_audience) who are in Teams."""
        with self.core.db.transaction() as session:
            enquiry = session.get(MediaEnquiry, media_id)
            if enquiry is None:
                return 0
            view = media_report.enquiry_view(session, self.core, enquiry)
            routing = media.routing_of(enquiry)
            audience = fanout.media_audience(self.core, enquiry)
        why: dict[str, list[str]] = {}
        for person in audience:
            if uid := person.user_id(SURFACE):
                reasons = why.setdefault(uid, [])
                reasons += [r for r in person.reasons if r not in reasons]
        deadline = local_time(view.get("journalist_deadline"), self.core.calendar.tz)
        case = f" (case {view['case_ref']})" if view.get("case_ref") else ""
        for uid, reasons in why.items():
            self.dm(uid, (
                f"Media enquiry {view['ref']} from {plain_label(view.get('outlet'), field='outlet')}: "
                f"{view.get('subject_label')}{case}. Journalist's deadline: {deadline}. "
                f"Speaks: {routing.spokesperson.display}. You are told as {' and '.join(reasons)}. "
                "See the alert in the media channel."
            ))
        return len(why)

    # --- thread replies ---------------------------------------------------------------------
    def case_replies(self, case_id: int, events: list[tuple[str, dict]]) -> int:
        """A reply under the case's card for each event the core has words for."""
        with self.core.db.session() as session:
            case = session.get(Case, case_id)
            post = chat_posts.first_post(session, SURFACE, chat_posts.CASE, case_id)
            if case is None or post is None:
                return 0
            ref, conversation, message_id = case.ref, post.conversation, post.message_id
        found = [r for k, d in events if (r := replies.case_reply(self.core, ref, k, d)) is not None]
        for reply in found:
            self.reply_in_thread(conversation, message_id, reply)
        return len(found)

    def media_replies(self, media_id: int, events: list[tuple[str, dict]]) -> None:
        """Replies under the alert; a repeated (unacknowledged) alert is DMed to the people the
        core names for it (issue 4 item 3: the business manager)."""
        with self.core.db.session() as session:
            enquiry = session.get(MediaEnquiry, media_id)
            if enquiry is None:
                return
            view = media_report.enquiry_view(session, self.core, enquiry)
            post = chat_posts.first_post(session, SURFACE, chat_posts.MEDIA, media_id)
            where = (post.conversation, post.message_id) if post else None
            escalated = fanout.unacknowledged_audience(self.core, enquiry)
        for kind, detail in events:
            reply = replies.media_reply(self.core, view, kind, detail)
            if reply is not None and where is not None:
                self.reply_in_thread(*where, reply)
            if kind != "media_alert_repeated":
                continue
            for uid in dict.fromkeys(u for p in escalated if (u := p.user_id(SURFACE))):
                self.dm(uid, self.unacknowledged_text(view, detail.get("repeat")))

    def unacknowledged_text(self, view: dict, repeat: object) -> str:
        deadline = view.get("journalist_deadline")
        when = "not given: ask the journalist"
        if deadline:
            waiting = view["status"] in ("open", "acknowledged")
            left = time_left(deadline, self.core.clock.now()) if waiting else ""
            when = local_time(deadline, self.core.calendar.tz) + (f" ({left})" if left else "")
        count = repeat if isinstance(repeat, int) else ""
        outlet = plain_label(view.get("outlet"), field="outlet")
        return (f"{SIGNS['unacknowledged']} Media enquiry {view['ref']} from {outlet} has not been "
                f"acknowledged (repeat {count}). Journalist's deadline: {when}. See the alert in the media "
                "channel.")

    def reply_in_thread(self, conversation: str, message_id: str, reply: replies.Reply) -> str:
        """The Bot Connector's reply to the card's activity: a reply in its channel thread."""
        sent = self.connector.reply(self.service_url, conversation, message_id,
                                    text_message(reply.render(SIGNS)))
        # Deleted with the card or alert after the retention period (bot.retention_chat).
        record_reply(self.core, SURFACE, conversation, message_id, sent)
        return sent

    # --- DMs ------------------------------------------------------------------------------
    def dm(self, user_id: str, text: str) -> bool:
        """One message in the person's 1:1 chat; a failure is logged by user id and never raises."""
        try:
            chat = self._chats.get(user_id)
            if chat is None:
                tenant = self.settings.teams_tenant_id
                chat = self.connector.open_personal_chat(self.service_url, user_id, tenant)
                self._chats[user_id] = chat
            self.connector.send(self.service_url, chat, text_message(text))
            return True
        except Exception:
            log.exception("could not send a Teams direct message to %s", user_id)
            return False

    def post_summary(self, month: str) -> bool:
        """The business unit's monthly summary (bot.report_monthly), once per month."""
        try:
            return post_summary(self.core, self.connector, self.service_url,
                                self.settings.teams_business_unit_channel, month, self._lease)
        except Exception:
            log.exception("teams notifier could not post the monthly summary; the tick re-posts")
            return False

    # --- re-posting what could not be posted ------------------------------------------------
    def repost_missing(self) -> int:
        """A card for every open case and an alert for every open enquiry that has none on Teams
        (Teams was down when it happened). Safe on every tick."""
        with self.core.db.transaction() as session:
            cases = list(session.exec(select(Case.id).where(
                chat_posts.unposted(SURFACE, chat_posts.CASE, Case.id),
                col(Case.stage).not_in([s.value for s in CLOSED_STAGES])).order_by(col(Case.id))))
            enquiries = list(session.exec(select(MediaEnquiry.id).where(
                chat_posts.unposted(SURFACE, chat_posts.MEDIA, MediaEnquiry.id),
                col(MediaEnquiry.status).in_(media.OPEN)).order_by(col(MediaEnquiry.id))))
        month = unposted_month(self.core)
        posted = int(month is not None and self.post_summary(month))
        for case_id in cases:
            posted += self.post_case(int(case_id or 0)) is not None
        for media_id in enquiries:
            if self.post_media(int(media_id or 0)):
                self.media_fan_out(int(media_id or 0))
                posted += 1
        return posted

    # --- several instances (decision 0013) ------------------------------------------------
    def _posted(self, kind: str, object_id: int) -> bool:
        with self.core.db.session() as session:
            return chat_posts.first_post(session, SURFACE, kind, object_id) is not None

    @contextmanager
    def _lease(self, name: str) -> Iterator[bool]:
        me = leases.instance_id()
        with self.core.db.transaction() as session:
            ours = leases.acquire(session, name, me, self.core.clock.now(), POST_LEASE)
        yield ours
        if ours:  # left to lapse when recording failed, so a re-post does not follow at once
            with self.core.db.transaction() as session:
                leases.release(session, name, me)
