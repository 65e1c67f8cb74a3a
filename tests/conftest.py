"""Shared fixtures: a real SQLite database in a temporary folder, the default protocol, a
fixed clock, and a real Maildir gateway."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.cases import Referral, accept, get_case, open_case, record_sin_submitted
from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.mail.maildir import MaildirGateway
from bot.protocol import load_protocol

#: Monday 16 November 2026, 10:00 in London (GMT, so also 10:00 UTC).
MONDAY_10 = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)


class RecordingNotifier:
    def __init__(self) -> None:
        self.calls: list[tuple[set[int], list[str]]] = []

    def committed(self, case_ids: set[int], events: list) -> None:  # type: ignore[type-arg]
        self.calls.append((case_ids, [e.kind for e in events]))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_10)


@pytest.fixture
def core(tmp_path: Path, clock: FixedClock) -> Core:
    db = Database(f"sqlite:///{tmp_path / 'test.sqlite3'}")
    db.create_schema()
    return Core(
        db=db, protocol=load_protocol(None), clock=clock, attachments_dir=tmp_path / "attachments",
        notifier=RecordingNotifier(),
    )


@pytest.fixture
def maildir(tmp_path: Path) -> MaildirGateway:
    return MaildirGateway(tmp_path / "mail")


def new_case(core: Core, **overrides: object) -> str:
    fields: dict[str, object] = {
        "referring_agency": "la-csc", "incident_date": date(2026, 11, 12),
        "la_aware_date": date(2026, 11, 13), "outcome": "death", "abuse_neglect": "yes",
        "legal_status": "cp-plan", "agencies_involved": ["police", "icb"],
    }
    fields.update(overrides)
    with core.transaction() as s:
        case = open_case(s, core, Referral(**fields), actor="bm@partnership.example",  # type: ignore[arg-type]
                         source="cli")
        return case.ref


def notified_case(core: Core) -> str:
    """A case whose notification has been submitted (information gathering)."""
    ref = new_case(core)
    with core.transaction() as s:
        case = get_case(s, ref)
        accept(s, core, case, actor="bm@partnership.example")
        record_sin_submitted(s, core, case, at=None, actor="bm@partnership.example")
    return ref

