"""What every service needs, in one object: the database, the protocol, the calendar, the clock.

Built by :func:`bot.app.create_app`; tests build one directly. Nothing here opens a connection
at import time (architecture rule 8).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol as TypingProtocol

from sqlmodel import Session

from bot.calendar import Calendar
from bot.clock import Clock
from bot.db import Database
from bot.mailbox_health import MailboxHealth
from bot.models import Event
from bot.protocol import Protocol

log = logging.getLogger(__name__)


class Notifier(TypingProtocol):
    """A chat surface, told after each commit which cases changed and which events happened.

    ``committed`` runs after the commit, whatever door the change came through; a notifier should
    not raise (the core logs and carries on if it does) and should not keep the caller waiting.
    Who is told is the core's decision (bot/fanout.py); a notifier only delivers.
    """

    surface: str  # "slack" | "teams"

    def committed(self, case_ids: set[int], events: list[Event]) -> None: ...


class NullNotifier:
    surface = "none"

    def committed(self, case_ids: set[int], events: list[Event]) -> None:
        return None


@dataclass
class Core:
    db: Database
    protocol: Protocol
    clock: Clock
    mail_from: str = "reviews@partnership.example"
    attachments_dir: Path = Path("var/attachments")
    attachment_max_bytes: int = 20 * 1024 * 1024
    #: Every chat surface this installation uses (bot/app.py builds it from the settings).
    notifiers: list[Notifier] = field(default_factory=list)
    #: Set by the tick's poll; shown on App Home (issue 5 item 7).
    mailbox: MailboxHealth = field(default_factory=MailboxHealth)
    #: When this process last swept orphan attachments (the tick does it at most hourly).
    orphans_swept_at: datetime | None = None
    #: Until when this process's ticks skip the retention purge (the next record's due moment,
    #: an hour at most: schedules/sweep.py), and the month whose summary is known to be written.
    retention_due_at: datetime | None = None
    summary_month_done: str | None = None
    calendar: Calendar = field(init=False)

    def __post_init__(self) -> None:
        self.calendar = self.protocol.calendar()

    @property
    def mail_domain(self) -> str:
        return self.mail_from.rsplit("@", 1)[-1]

    def notifier_for(self, surface: str) -> Notifier | None:
        """The notifier of one surface, if this installation uses it."""
        return next((n for n in self.notifiers if n.surface == surface), None)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work. After it commits, every notifier hears what changed."""
        with self.db.transaction() as session:
            yield session
            events: list[Event] = list(session.info.get("events", []))
        if events:
            self.announce(events)

    def announce(self, events: list[Event]) -> None:
        """Tell each notifier; one that fails neither stops the others nor undoes the commit."""
        case_ids = {e.case_id for e in events if e.case_id is not None}
        for notifier in list(self.notifiers):
            try:
                notifier.committed(set(case_ids), list(events))
            except Exception:  # the commit already happened; the sweep re-posts what is missing
                # Ids and kinds only: never what an event's detail holds (privacy, DEVELOPERS.md).
                log.exception("the %s notifier failed for cases %s (%s)", getattr(notifier, "surface", "?"),
                              sorted(case_ids), ", ".join(sorted({e.kind for e in events})))
