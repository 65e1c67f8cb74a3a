"""Migration 0009 on both databases: open media enquiries get their clock rows at the step they had
reached, the sweep carries on from there (nothing lost, nothing doubled), and the downgrade gives
the enquiries their old schedule back."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlmodel import select

from bot import media, media_clock
from bot.chasers import chase_overdue
from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.media_routing import resolve, route_for
from bot.models import Event
from bot.protocol import load_protocol
from bot.schema import alembic_config, migration_engine, upgrade
from tests.conftest import MONDAY_10

T0 = MONDAY_10
_enquiry = sa.table(
    'mediaenquiry', *(sa.column(name, sa.DateTime()) for name in (
        'received_at', 'journalist_deadline', 'acknowledged_at', 'next_action_at')),
    *(sa.column(name, sa.Integer()) for name in ('id', 'alerts_repeated', 'reminders_sent')),
    *(sa.column(name, sa.String()) for name in (
        'ref', 'source', 'raised_by', 'outlet', 'journalist', 'contact', 'subject', 'summary', 'route',
        'status')),
    sa.column('routing', sa.JSON()),
)


def _naive(at: datetime | None) -> datetime | None:
    return None if at is None else at.replace(tzinfo=None)  # how revision 0006 stored UTC


def _old_enquiry(ref: str, routing: dict[str, Any], *, received: datetime, status: str, repeated: int,
                 reminders: int, next_at: datetime | None, deadline: datetime | None = None,
                 acknowledged: datetime | None = None) -> dict[str, Any]:
    return {
        'ref': ref, 'source': 'slack', 'raised_by': 'slack:UREPORTER', 'outlet': 'Evening Post',
        'journalist': '', 'contact': '', 'subject': 'general', 'summary': '', 'route': 'general',
        'routing': routing, 'status': status, 'received_at': _naive(received),
        'journalist_deadline': _naive(deadline), 'acknowledged_at': _naive(acknowledged),
        'alerts_repeated': repeated, 'reminders_sent': reminders, 'next_action_at': _naive(next_at),
    }


def test_open_enquiries_carry_on_from_their_step_after_the_upgrade_and_back(
    clock: FixedClock, database_url: str, tmp_path: Path,
) -> None:
    protocol = load_protocol(None)
    # A routing as the older bot froze it.
    routing = resolve(protocol, route_for("general", None), chair_away=False).to_json()
    upgrade(database_url, "0006")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.insert(_enquiry), [
            # Repeated once; the next repeat was due 30 minutes after receipt.
            _old_enquiry("ME-2026-0001", routing, received=T0 - timedelta(minutes=20), status="open",
                         repeated=1, reminders=0, next_at=T0 + timedelta(minutes=10)),
            # Acknowledged; the 2-hour reminder had gone before it arrived, the 30-minute one is next.
            _old_enquiry("ME-2026-0002", routing, received=T0 - timedelta(minutes=30), status="acknowledged",
                         repeated=0, reminders=1, next_at=T0 + timedelta(minutes=30),
                         deadline=T0 + timedelta(hours=1), acknowledged=T0 - timedelta(minutes=25)),
            _old_enquiry("ME-2026-0003", routing, received=T0 - timedelta(hours=1), status="closed",
                         repeated=4, reminders=0, next_at=None),
        ])
    engine.dispose()
    upgrade(database_url)

    migrated = Core(db=Database(database_url), protocol=protocol, clock=clock,
                    attachments_dir=tmp_path / "attachments")
    try:
        with migrated.db.session() as s:
            rows = {(media.get_enquiry(s, ref).ref, d.kind): d for ref in ("ME-2026-0001", "ME-2026-0002",
                                                                           "ME-2026-0003")
                    for d in media_clock.clocks_of(s, media.get_enquiry(s, ref))}
        assert sorted(rows) == [("ME-2026-0001", "media_acknowledgement"),
                                ("ME-2026-0002", "media_acknowledgement"), ("ME-2026-0002", "media_deadline")]
        first = rows[("ME-2026-0001", "media_acknowledgement")]
        assert (first.step, first.next_action_at, first.case_id, first.working_hours) == (
            1, T0 + timedelta(minutes=10), None, False)
        assert rows[("ME-2026-0002", "media_acknowledgement")].met_at == T0 - timedelta(minutes=25)
        assert rows[("ME-2026-0002", "media_deadline")].step == 1

        steps = []
        for minutes in (10, 30, 60, 61):
            clock.set(T0 + timedelta(minutes=minutes))
            steps.append(chase_overdue(migrated).media_steps)
        # 10: repeat 2; 25 and 30: repeat 3 and the 30-minute reminder; 40 and 60: repeat 4 and
        # the deadline passing; then nothing.
        assert steps == [1, 2, 2, 0]
        with migrated.db.session() as s:
            detail = [(e.kind, e.detail.get("repeat") or e.detail.get("minutes_before"))
                      for e in s.exec(select(Event).where(Event.kind.in_(  # type: ignore[attr-defined]
                          ("media_alert_repeated", "media_deadline_reminder", "media_deadline_passed")))
                          .order_by(Event.id))]
        assert detail == [("media_alert_repeated", 2), ("media_alert_repeated", 3),
                          ("media_deadline_reminder", 30), ("media_alert_repeated", 4),
                          ("media_deadline_passed", None)]
    finally:
        migrated.db.engine.dispose()

    engine = migration_engine(database_url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0006")
        with engine.connect() as conn:
            back = {r.ref: r for r in conn.execute(sa.select(_enquiry).order_by(_enquiry.c.id))}
            media_rows = conn.execute(sa.text("SELECT count(*) FROM deadline")).scalar_one()
    finally:
        engine.dispose()
    assert media_rows == 0
    assert (back["ME-2026-0001"].alerts_repeated, back["ME-2026-0001"].next_action_at) == (4, None)
    assert (back["ME-2026-0002"].reminders_sent, back["ME-2026-0002"].next_action_at) == (3, None)

