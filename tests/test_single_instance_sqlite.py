"""SQLite supports one instance: a second `review-bot run` on the same database is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from bot.leases import SecondInstance, sqlite_single_instance


def test_a_second_instance_on_one_sqlite_database_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    first = sqlite_single_instance(url)
    assert first is not None
    with pytest.raises(SecondInstance, match="SQLite supports one instance"):
        sqlite_single_instance(url)
    # Another process is refused too, with the message and exit status 1, not a traceback.
    other = subprocess.run(
        [sys.executable, "-c", f"from bot.leases import sqlite_single_instance as g; g({url!r})"],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).parent.parent,
    )
    assert other.returncode == 1
    assert "another review-bot is already running" in other.stderr
    assert "Traceback" not in other.stderr
    first.close()  # the first stops (the OS also drops the lock if it is killed)
    again = sqlite_single_instance(url)
    assert again is not None
    again.close()


def test_postgresql_and_in_memory_databases_need_no_lock_file() -> None:
    assert sqlite_single_instance("postgresql+psycopg://u@127.0.0.1:1/x") is None
    assert sqlite_single_instance("sqlite:///:memory:") is None


def test_a_message_left_mid_send_by_a_dead_process_goes_at_the_next_start_not_an_hour_later(
    tmp_path: Path,
) -> None:
    """On SQLite the start-up holds the only lock, so a row still "sending" was a dead process's:
    its claim is over at once, and the first tick sends it (review of issue 10: a media reminder
    due in 30 minutes waited out the one-hour send lease)."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from bot.app import create_app
    from bot.clock import FixedClock
    from bot.mailer import Rendered
    from bot.models import OutboxMessage
    from bot.outbox import enqueue
    from bot.settings import Settings

    now = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
    settings = Settings(_env_file=None, data_dir=tmp_path, health_port=None)
    app = create_app(settings, clock=FixedClock(now))
    core = app.core
    with core.transaction() as s:
        enqueue(s, core, key="media:1:reminder:30", kind="media_deadline_reminder",
                to=["press.office@borough.example"], rendered=Rendered("s", "t", "<p>t</p>"))
        s.execute(update(OutboxMessage).values(status="sending", claimed_by="dead:1:x", claimed_at=now,
                                               lease_until=datetime(2026, 11, 16, 11, 0, tzinfo=UTC)))
    app.start()  # its first scheduled tick may run at once, beside the one below
    try:
        app.tick()
    finally:
        app.stop()
    with core.db.session() as s:
        assert s.exec(select(OutboxMessage.status)).all() == ["sent"]
    sent = [p for sub in ("new", "cur") for p in (settings.maildir / "sent" / sub).glob("*")]
    assert len(sent) == 1  # sent now, and once
