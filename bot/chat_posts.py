"""Where each chat surface posted a case card or a media alert, as rows (issue 11; decision 0019).

A surface posts a card once and updates it in place on every change; the row remembers where
(the conversation) and which message. Keyed by (surface, kind, object, conversation), so Slack
and Teams each keep their own post of the same case, and a Teams channel and a Slack channel
never collide. The core stores them; the surfaces' notifiers read and write them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists
from sqlmodel import Session, col, select

from bot.core import Core
from bot.models import ChatPost

#: What a post is about.
CASE = "case"
MEDIA = "media"
#: The business unit's monthly summary (bot.report_monthly): object id 202612 for December 2026.
SUMMARY = "summary"
KINDS = frozenset({CASE, MEDIA, SUMMARY})


def post_of(session: Session, surface: str, kind: str, object_id: int, conversation: str) -> ChatPost | None:
    """The post of one object in one conversation of one surface."""
    return session.exec(
        select(ChatPost).where(
            ChatPost.surface == surface, ChatPost.object_kind == kind,
            ChatPost.object_id == object_id, ChatPost.conversation == conversation,
        )
    ).first()


def posts_of(session: Session, surface: str, kind: str, object_id: int) -> list[ChatPost]:
    """Every post of one object on one surface, oldest first (a card stays in the conversation it
    was first posted in, even after the setting naming the channel changes). A post deleted after
    the retention period (bot.retention_chat) is no longer there to update or reply under."""
    return list(session.exec(
        select(ChatPost).where(
            ChatPost.surface == surface, ChatPost.object_kind == kind, ChatPost.object_id == object_id,
            col(ChatPost.deleted_at).is_(None),
        ).order_by(col(ChatPost.id))
    ))


def first_post(session: Session, surface: str, kind: str, object_id: int) -> ChatPost | None:
    """The object's post on this surface, the one its thread replies go under."""
    found = posts_of(session, surface, kind, object_id)
    return found[0] if found else None


def record_post(
    session: Session, core: Core, surface: str, kind: str, object_id: int, conversation: str,
    message_id: str,
) -> ChatPost:
    """Remember that ``surface`` posted the object in ``conversation`` as ``message_id``. Posting
    the same object in the same conversation again moves the row to the new message; the time
    it was first posted stays (a media enquiry's time to notify)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of chat post: {kind!r}")
    now = core.clock.now()
    post = post_of(session, surface, kind, object_id, conversation)
    if post is None:
        post = ChatPost(surface=surface, object_kind=kind, object_id=object_id, conversation=conversation,
                        message_id=message_id, posted_at=now, updated_at=now)
        session.add(post)
    else:
        post.message_id, post.updated_at = message_id, now
    session.flush()
    return post


def mark_updated(session: Session, core: Core, post_id: int) -> None:
    """The surface updated the post in place."""
    post = session.get(ChatPost, post_id)
    if post is not None:
        post.updated_at = core.clock.now()


def first_posted_at(session: Session, kind: str, object_id: int) -> datetime | None:
    """When any surface first posted the object (None: not yet)."""
    return session.exec(
        select(ChatPost.posted_at).where(ChatPost.object_kind == kind, ChatPost.object_id == object_id)
        .order_by(col(ChatPost.posted_at)).limit(1)
    ).first()


def unposted(surface: str, kind: str, id_column: Any) -> Any:
    """A WHERE clause: the object whose id is ``id_column`` has no post on ``surface`` (the sweep's
    re-post of what could not be posted when it happened)."""
    return ~exists().where(
        col(ChatPost.surface) == surface, col(ChatPost.object_kind) == kind,
        col(ChatPost.object_id) == id_column,
    )
