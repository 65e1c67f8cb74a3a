"""Posting to Slack from several instances, and what the notifier keeps of an event.

Several instances may share one database (decision 0013): each posts what changed after its own
commits, and each tick re-posts what is missing. A short lease per card or alert makes sure only one
of them posts a new one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot import leases
from bot.core import Core


@dataclass(frozen=True)
class Happened:
    """What the notifier keeps of an event (a copy: the session is gone by the time it runs)."""

    case_id: int | None
    kind: str
    detail: dict[str, Any]


#: Long enough for one chat.postMessage with Slack's retries; a dead holder's lease lapses.
POST_LEASE = timedelta(minutes=2)


@contextmanager
def posting_lease(core: Core, name: str) -> Iterator[bool]:
    """Several instances (decision 0013) may notice the same missing card or alert at once (one
    after its commit, another on its tick's re-post): only the holder of a short lease posts, so
    the channel never gets two. The thread locks above do the same within one process."""
    me = leases.instance_id()
    with core.db.transaction() as session:
        mine = leases.acquire(session, name, me, core.clock.now(), POST_LEASE)
    yield mine
    # Released only after a clean post-and-record: if recording the post failed, the lease is
    # left to lapse, so a re-post on the next tick does not follow at once with a second card.
    if mine:
        with core.db.transaction() as session:
            leases.release(session, name, me)


