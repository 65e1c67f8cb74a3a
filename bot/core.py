"""What every service needs, in one object: the database, the protocol, the calendar, the clock.

Built by :func:`bot.app.create_app`; tests build one directly. Nothing here opens a connection
at import time (architecture rule 8).
"""

from __future__ import annotations

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


class Notifier(TypingProtocol):
    """Told after each commit which cases changed and which events happened (the Slack seam)."""

    def committed(self, case_ids: set[int], events: list[Event]) -> None: ...


class NullNotifier:
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
    notifier: Notifier = field(default_factory=NullNotifier)
    #: Set by the tick's poll; shown on App Home (issue 5 item 7).
    mailbox: MailboxHealth = field(default_factory=MailboxHealth)
    #: When this process last swept orphan attachments (the tick does it at most hourly).
    orphans_swept_at: datetime | None = None
    calendar: Calendar = field(init=False)

    def __post_init__(self) -> None:
        self.calendar = self.protocol.calendar()

    @property
    def mail_domain(self) -> str:
        return self.mail_from.rsplit("@", 1)[-1]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work. After it commits, the notifier hears what changed."""
        with self.db.transaction() as session:
            yield session
            events: list[Event] = list(session.info.get("events", []))
        if events:
            case_ids = {e.case_id for e in events if e.case_id is not None}
            self.notifier.committed(case_ids, events)
