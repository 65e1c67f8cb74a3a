"""The Slack side of the notifier seam: case cards kept up to date and thread replies for events.

``SlackNotifier.committed`` is called by :meth:`bot.core.Core.transaction` after each commit,
whatever door the change came through (Slack, email, the clock). It never raises: Slack being
down must not break a commit that already happened. Replies carry references, stages, dates,
agencies and kinds only (process.md 8.4): never reasons, rationales or other typed text.

Media enquiries (issue 4) get their own alert in the comms channel, found by the ``media_id`` of
their events and updated in place, with DMs to the spokesperson, the press office and the
business manager when it is first posted. Alerts, replies and DMs render
:func:`bot.media_report.enquiry_view`: never the journalist, their contact, the summary or a statement.
The words of a reply are the core's (bot.replies, shared with Teams); this draws them for Slack.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import col, select

from bot import chat_posts, replies
from bot.core import Core
from bot.models import Case, Event
from bot.retention_chat import record_reply
from bot.settings import Settings
from bot.stages import CLOSED_STAGES
from bot.views import case_view
from handlers.slack.blocks import card_text, case_card, escape
from handlers.slack.media_notifier import SIGNS, deliver_media, repost_missing_media_alerts
from handlers.slack.posting import Happened, posting_lease
from handlers.slack.report_post import post_summary, repost_summary

log = logging.getLogger(__name__)

SURFACE = "slack"

#: One card per case even when a handler and the notifier both try to post it.
_card_lock = threading.Lock()

#: chat.delete errors that mean there is nothing left to delete.
GONE = frozenset({"message_not_found", "channel_not_found"})

#: Events that change nothing on the card.
QUIET = frozenset({"action_refused", "auto_reply", "return_supplement"})
#: Media events that change nothing on the media alert (a refusal changes nothing).
MEDIA_QUIET = frozenset({"media_action_refused"})


def quiet_for_card(kind: str) -> bool:
    """Media events of an enquiry about a case carry its case_id; only the enquiry's arrival is
    worth a line in the case's thread, the rest belongs to the media alert."""
    return kind in QUIET or (kind.startswith("media_") and kind != "media_enquiry_received")


def post_or_update_card(core: Core, client: WebClient, settings: Settings, case_id: int) -> str | None:
    """Update the case's card in place, or post it in the business unit channel. Returns its ts.

    The one code path that posts a case card in Slack; where it lives is a chat post row
    (bot.chat_posts), so a restart, another instance or an upgrade from the Slack columns
    updates the same message."""
    with _card_lock:
        with core.db.transaction() as session:
            case = session.get(Case, case_id)
            if case is None:
                return None
            view = case_view(session, core, case)
            post = chat_posts.first_post(session, SURFACE, chat_posts.CASE, case_id)
            where = (post.id, post.conversation, post.message_id) if post else None
            closed = case.stage in CLOSED_STAGES
        blocks = case_card(view, now=core.clock.now(), tz=core.calendar.tz)
        if where is not None:
            post_id, channel, ts = where
            assert post_id is not None  # a stored row
            client.chat_update(channel=channel, ts=ts, text=card_text(view), blocks=blocks)
            with core.db.transaction() as session:
                chat_posts.mark_updated(session, core, post_id)
            return ts
        if closed or not settings.slack_business_unit_channel:
            return None
        with posting_lease(core, f"slack-card:{case_id}") as mine:
            if not mine or _card_posted(core, case_id):
                return None  # another instance is posting it, or just has
            posted = client.chat_postMessage(
                channel=settings.slack_business_unit_channel, text=card_text(view), blocks=blocks,
            )
            with core.db.transaction() as session:
                if session.get(Case, case_id) is not None:
                    chat_posts.record_post(session, core, SURFACE, chat_posts.CASE, case_id,
                                           str(posted["channel"]), str(posted["ts"]))
        return str(posted["ts"])


def card_of(core: Core, case_id: int) -> tuple[str, str, str] | None:
    """The case's reference, and the channel and ts of its card; None: no card yet."""
    with core.db.session() as session:
        case = session.get(Case, case_id)
        post = chat_posts.first_post(session, SURFACE, chat_posts.CASE, case_id) if case else None
        return (case.ref, post.conversation, post.message_id) if case and post else None


def _card_posted(core: Core, case_id: int) -> bool:
    with core.db.session() as session:
        case = session.get(Case, case_id)
        return case is None or chat_posts.first_post(session, SURFACE, chat_posts.CASE, case_id) is not None


def slack_reply(reply: replies.Reply) -> str:
    """A core reply as Slack mrkdwn: its signs as emoji codes, its text escaped."""
    return reply.render(SIGNS, escape)


def reply_text(core: Core, ref: str, event: Happened) -> str | None:
    """The thread reply for an event (the core's words, bot.replies); None: no reply."""
    reply = replies.case_reply(core, ref, event.kind, event.detail)
    return slack_reply(reply) if reply else None


class SlackNotifier:
    """One of ``core.notifiers``: ``core.notifiers.append(SlackNotifier(client, core, settings))``.

    By default the Slack calls run on one background thread (in order), so a commit (and a
    Slack ``ack()``) never waits for Slack. ``background=False`` runs them inline (tests).
    """

    surface = SURFACE

    def __init__(self, client: WebClient, core: Core, settings: Settings, *, background: bool = True):
        self.client = client
        self.core = core
        self.settings = settings
        self._executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack-notifier") if background else None
        )

    def committed(self, case_ids: set[int], events: list[Event]) -> None:
        try:
            happened = [Happened(e.case_id, e.kind, dict(e.detail or {})) for e in events]
            if self._executor is not None:
                self._executor.submit(self._deliver, set(case_ids), happened)
            else:
                self._deliver(set(case_ids), happened)
        except Exception:  # never out of committed(): the commit already happened
            log.exception("slack notifier could not take events for cases %s", sorted(case_ids))

    def repost_missing(self) -> int:
        """The tick's re-post (bot.app): cards and alerts that could not be posted when they
        happened. Safe on every tick; returns how many it posted."""
        return (repost_missing_cards(self.core, self.client, self.settings)
                + repost_missing_media_alerts(self.core, self.client, self.settings)
                + repost_summary(self.core, self.client, self.settings))

    def delete_post(self, conversation: str, message_id: str) -> None:
        """Delete a post after the retention period (bot.retention_chat). A message or channel
        Slack no longer has counts as deleted; anything else raises and a later tick retries."""
        try:
            self.client.chat_delete(channel=conversation, ts=message_id)
        except SlackApiError as exc:
            if exc.response.get("error") not in GONE:
                raise

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything handed over so far has been sent (tests, shutdown)."""
        if self._executor is not None:
            done: Future[None] = self._executor.submit(lambda: None)
            done.result(timeout=timeout)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    def _deliver(self, case_ids: set[int], events: Iterable[Happened]) -> None:
        events = list(events)
        for month in [str(e.detail.get("posted_for")) for e in events if e.kind == "monthly_summary"]:
            try:  # the business unit's monthly summary (bot.report_monthly): counts only
                post_summary(self.core, self.client, self.settings, month)
            except Exception:
                log.exception("slack notifier could not post the monthly summary; the tick re-posts")
        for case_id in sorted(case_ids):
            mine = [e for e in events if e.case_id == case_id]
            if mine and all(quiet_for_card(e.kind) for e in mine):
                continue
            try:
                if post_or_update_card(self.core, self.client, self.settings, case_id) is None:
                    continue
                card = card_of(self.core, case_id)
                if card is None:
                    continue
                ref, channel, ts = card
                for event in mine:
                    text = reply_text(self.core, ref, event)
                    if text:
                        sent = self.client.chat_postMessage(channel=channel, thread_ts=ts, text=text)
                        # Deleted with the card after the retention period (bot.retention_chat).
                        record_reply(self.core, SURFACE, channel, ts, str(sent.get("ts") or ""))
            except Exception:
                log.exception("slack notifier failed for case %s; a later change or sweep retries", case_id)
        media_ids = sorted({
            int(e.detail["media_id"]) for e in events
            if e.kind.startswith("media_") and isinstance(e.detail.get("media_id"), int)
        })
        for media_id in media_ids:
            mine = [e for e in events if e.detail.get("media_id") == media_id]
            if all(e.kind in MEDIA_QUIET for e in mine):
                continue
            try:
                deliver_media(self.core, self.client, self.settings, media_id, mine)
            except Exception:
                log.exception("slack notifier failed for media enquiry %s; the sweep re-posts", media_id)


def repost_missing_cards(core: Core, client: WebClient, settings: Settings) -> int:
    """Post a card for every open case that has none (e.g. Slack was down when it opened)."""
    with core.db.transaction() as session:
        ids = list(session.exec(
            select(Case.id).where(
                chat_posts.unposted(SURFACE, chat_posts.CASE, Case.id),
                col(Case.stage).not_in([s.value for s in CLOSED_STAGES]),
            ).order_by(col(Case.id))
        ))
    posted = 0
    for case_id in ids:
        try:
            if case_id is not None and post_or_update_card(core, client, settings, case_id):
                posted += 1
        except Exception:
            log.exception("could not post the card for case %s", case_id)
    return posted
