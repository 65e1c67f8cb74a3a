"""Whether the mailbox is reachable, and when to try it next (issue 5 item 7).

A mailbox outage must not lose anything and must not go unnoticed: the poll backs off (one
minute, doubling, at most 15 minutes) and App Home tells the business unit since when the
mailbox has been unreachable. Nothing is dropped meanwhile: unread mail stays in the mailbox
and unsent mail in the outbox, which has its own backoff (bot/outbox.py). In memory: the state
of one running process, rebuilt by the first poll after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(minutes=15)


@dataclass
class MailboxHealth:
    failures: int = 0
    #: The first failure of the current outage.
    since: datetime | None = None
    last_error: str | None = None
    last_ok_at: datetime | None = None
    next_poll_at: datetime | None = None

    @property
    def reachable(self) -> bool:
        return self.failures == 0

    def should_poll(self, now: datetime) -> bool:
        return self.next_poll_at is None or now >= self.next_poll_at

    def failed(self, now: datetime, error: str) -> None:
        self.failures += 1
        self.since = self.since or now
        self.last_error = error[:300]
        self.next_poll_at = now + min(FIRST_RETRY * 2 ** (self.failures - 1), MAX_RETRY)

    def succeeded(self, now: datetime) -> None:
        self.failures, self.since, self.last_error, self.next_poll_at = 0, None, None, None
        self.last_ok_at = now
