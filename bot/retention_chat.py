"""The bot's own chat posts of closed cases and enquiries, deleted after the protocol's period
(issue 13 item 5; process.md 8.4 item 5: per-channel retention needs Slack's Enterprise plan, so
on other plans the bot deletes its own messages; Teams likewise).

The surfaces' notifiers delete (Slack ``chat.delete``, the Bot Connector's DELETE activity); the
core decides what and when. Like the outbox, the step is idempotent: it runs under the purge's
lease (one instance at a time), a post the surface no longer has counts as deleted (the notifier
says so rather than failing), a failure leaves the post for a later tick (the least tried first),
and the row stays, marked ``deleted_at``, so nothing posts or updates it again.
"""

from __future__ import annotations

import logging
from typing import Protocol as TypingProtocol
from typing import cast

from sqlalchemy import update
from sqlmodel import col, select

from bot import audit
from bot.core import Core
from bot.db import rowcount
from bot.models import ChatPost
from bot.models_retention import ChatReply
from bot.privacy import log_message

log = logging.getLogger(__name__)


class PostDeleter(TypingProtocol):
    """A notifier that can delete its surface's messages."""

    surface: str

    def delete_post(self, conversation: str, message_id: str) -> None:
        """Delete the message; return quietly if the surface no longer has it; raise on failure."""


def record_reply(core: Core, surface: str, conversation: str, parent_id: str, reply_id: str) -> None:
    """Remember a thread reply the surface posted under its post ``parent_id``, so the reply is
    deleted with the post. A reply under no post the bot knows is not recorded."""
    if not reply_id:
        return
    with core.db.transaction() as session:
        post_id = session.exec(select(ChatPost.id).where(
            ChatPost.surface == surface, ChatPost.conversation == conversation,
            ChatPost.message_id == parent_id)).first()
        if post_id is not None:
            session.add(ChatReply(post_id=post_id, message_id=reply_id, posted_at=core.clock.now()))


def _delete_replies(core: Core, deleter: PostDeleter, post_id: int, conversation: str) -> None:
    """The post's thread replies first (a failure raises: the post waits for a later tick)."""
    with core.db.session() as session:
        replies = list(session.exec(select(ChatReply.id, ChatReply.message_id).where(
            ChatReply.post_id == post_id, col(ChatReply.deleted_at).is_(None)).order_by(col(ChatReply.id))))
    for reply_id, message_id in replies:
        deleter.delete_post(conversation, message_id)
        with core.db.transaction() as session:
            session.execute(update(ChatReply).where(col(ChatReply.id) == reply_id)
                            .values(deleted_at=core.clock.now()))


def delete_due_posts(core: Core, post_ids: list[int]) -> int:
    """Delete each post through its surface's notifier; returns how many were deleted now."""
    deleted = 0
    for post_id in post_ids:
        with core.db.session() as session:
            post = session.get(ChatPost, post_id)
            if post is None or post.deleted_at is not None:
                continue
            surface, conversation, message_id = post.surface, post.conversation, post.message_id
        notifier = core.notifier_for(surface)
        if notifier is None or not hasattr(notifier, "delete_post"):
            continue  # this installation does not run that surface now: left for one that does
        deleter = cast(PostDeleter, notifier)
        try:
            _delete_replies(core, deleter, post_id, conversation)
            deleter.delete_post(conversation, message_id)
        except Exception as exc:
            log.warning("could not delete %s post %s; a later tick retries: %s", surface, post_id,
                        log_message(exc))
            with core.db.transaction() as session:
                session.execute(update(ChatPost).where(col(ChatPost.id) == post_id)
                                .values(delete_attempts=ChatPost.delete_attempts + 1))
            continue
        with core.db.transaction() as session:
            marked = session.execute(
                update(ChatPost).where(col(ChatPost.id) == post_id, col(ChatPost.deleted_at).is_(None))
                .values(deleted_at=core.clock.now()))
            if rowcount(marked) == 1:
                deleted += 1
    if deleted:
        with core.db.transaction() as session:
            # How many, never which words (privacy, DEVELOPERS.md).
            audit.record(session, at=core.clock.now(), actor=audit.SYSTEM, kind="retention_purged",
                         record_class="chat_posts", objects=deleted, rows=deleted, files=0)
    return deleted
