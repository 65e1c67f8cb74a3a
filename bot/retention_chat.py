"""The bot's own chat posts of closed cases and enquiries, deleted after the protocol's period
(issue 13 item 5; process.md 8.4 item 5: per-channel retention needs Slack's Enterprise plan, so
on other plans the bot deletes its own messages; Teams likewise).

The surfaces' notifiers delete (Slack ``chat.delete``, the Bot Connector's DELETE activity); the
core decides what and when. Like the outbox, the step is idempotent: it runs under the purge's
lease (one instance at a time), a post the surface no longer has counts as deleted (the notifier
says so rather than failing), a failure leaves the post for a later tick (the least tried first),
and the row stays, marked ``deleted_at``, so nothing posts or updates it again. Each post is
deleted with its case claimed (locked) and its holds checked again, as the purge of a case is: the
lock is held over the surface's call, one post at a time, so a hold never lands mid-deletion (on
SQLite that is the database's write lock, for one round trip to Slack or Teams).
"""

from __future__ import annotations

import logging
from typing import Protocol as TypingProtocol
from typing import cast

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot import audit, leases
from bot.chat_posts import MEDIA
from bot.core import Core
from bot.db import rowcount
from bot.models import ChatPost, MediaEnquiry
from bot.models_retention import ChatReply
from bot.privacy import log_message
from bot.retention_purge import claim_case

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


def _claim_post(session: Session, post_id: int) -> ChatPost | None:
    """The post, if it is still to be deleted and its case is under no hold now, with the case
    locked for the caller's transaction (bot.retention_purge.claim_case, which ``hold`` waits on).
    The posts were chosen before the first of them was deleted; a hold set since then keeps the
    rest (decision 0030)."""
    post = leases.claim(session, ChatPost, post_id, col(ChatPost.deleted_at).is_(None), wait=True)
    if post is None:
        return None
    case_id: int | None = post.object_id
    if post.object_kind == MEDIA:
        enquiry = session.get(MediaEnquiry, post.object_id)
        case_id = enquiry.case_id if enquiry is not None else None
    if case_id is not None and claim_case(session, case_id) is None:
        return None  # held now
    return post


def _delete_replies(session: Session, core: Core, deleter: PostDeleter, post: ChatPost) -> None:
    """The post's thread replies first (a failure raises: the post waits for a later tick, and a
    reply deleted already then answers "not found", which counts as deleted)."""
    replies = list(session.exec(select(ChatReply.id, ChatReply.message_id).where(
        ChatReply.post_id == post.id, col(ChatReply.deleted_at).is_(None)).order_by(col(ChatReply.id))))
    for reply_id, message_id in replies:
        deleter.delete_post(post.conversation, message_id)
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
            # Under the claim: a hold set on the case now waits until this post has gone, and
            # one set since the posts were chosen stops it (checked again here, not only then).
            with core.db.transaction() as session:
                claimed = _claim_post(session, post_id)
                if claimed is None:
                    continue
                _delete_replies(session, core, deleter, claimed)
                deleter.delete_post(conversation, message_id)
                marked = session.execute(
                    update(ChatPost).where(col(ChatPost.id) == post_id, col(ChatPost.deleted_at).is_(None))
                    .values(deleted_at=core.clock.now()))
                deleted += rowcount(marked)
        except Exception as exc:
            log.warning("could not delete %s post %s; a later tick retries: %s", surface, post_id,
                        log_message(exc))
            with core.db.transaction() as session:
                session.execute(update(ChatPost).where(col(ChatPost.id) == post_id)
                                .values(delete_attempts=ChatPost.delete_attempts + 1))
            continue
    if deleted:
        with core.db.transaction() as session:
            # How many, never which words (privacy, DEVELOPERS.md).
            audit.record(session, at=core.clock.now(), actor=audit.SYSTEM, kind="retention_purged",
                         record_class="chat_posts", objects=deleted, rows=deleted, files=0)
    return deleted
