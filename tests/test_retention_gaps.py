"""Retention gaps found in review (issue 13): a door's stored replies deleted after their period,
mail of a case still queued or in flight when its working file is purged, the holds view in the
access log, and a chat post's hold checked again at deletion time. Through the real tick, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from bot import doors
from bot.core import Core
from bot.mail.maildir import MaildirGateway
from bot.models import DoorRequest, Event
from schedules.sweep import tick
from tests.test_retention import CANARY, at

RECORDED = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)


# --- a door's replies ------------------------------------------------------------------------------


def test_a_doors_stored_replies_are_deleted_after_thirty_days(core: Core, maildir: MaildirGateway) -> None:
    at(core, RECORDED)
    result, first = doors.once(core, key="cli:rerun-1", surface="cli",
                               action=lambda s: {"lines": [f"{CANARY}'s case opened"]})
    assert first and result["lines"]
    at(core, RECORDED + timedelta(days=20))
    doors.once(core, key="cli:rerun-2", surface="cli", action=lambda s: {"lines": ["later"]})

    # 30 days from the day it was recorded: kept to the end of that day, as every class.
    at(core, datetime(2026, 12, 18, 23, 59, tzinfo=UTC))
    assert "door_replies" not in tick(core, maildir).purged
    assert doors.once(core, key="cli:rerun-1", surface="cli", action=lambda s: {"lines": []}) == (result, False)
    at(core, datetime(2026, 12, 19, 0, 1, tzinfo=UTC))
    assert tick(core, maildir).purged["door_replies"] == 1
    with core.db.session() as s:
        assert s.exec(select(DoorRequest.key)).all() == ["cli:rerun-2"]  # the younger one stays
        event = s.exec(select(Event).where(Event.kind == "retention_purged")).one()
    assert event.detail == {"record_class": "door_replies", "objects": 1, "rows": 1, "files": 0}
    assert "door_replies" not in tick(core, maildir).purged  # nothing twice
