"""SQLite supports one instance: a second `review-bot run` on the same database is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
