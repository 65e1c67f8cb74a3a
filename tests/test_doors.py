"""Idempotent doors (issue 9 item 5): a request repeated under the same key acts once.

The key is written in the action's own transaction (bot.doors.once): on SQLite and on a real
PostgreSQL with two threads racing, exactly one action commits and both callers get its result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from bot import audit, doors
from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.errors import ServiceError
from bot.models import Case, DoorRequest, Event, MediaEnquiry
from bot.protocol import load_protocol
from tests.conftest import MONDAY_10
from tests.support.postgres import PostgresServer


def note(core: Core, label: str) -> Callable[[Session], doors.Result]:
    def action(session: Session) -> doors.Result:
        audit.record(session, at=core.clock.now(), actor="test", kind="door_test", label=label)
        return {"label": label}
    return action


def door_events(core: Core) -> list[str]:
    with core.transaction() as s:
        return [e.detail["label"] for e in s.exec(select(Event).where(Event.kind == "door_test"))]


def test_a_repeated_key_returns_the_first_result_and_does_nothing(core: Core) -> None:
    def once(key: str, label: str) -> tuple[doors.Result, bool]:
        return doors.once(core, key=key, surface="test", action=note(core, label))

    assert once("k1", "first") == ({"label": "first"}, True)
    assert once("k1", "second") == ({"label": "first"}, False)
    assert once("k2", "other") == ({"label": "other"}, True)
    assert door_events(core) == ["first", "other"]


def test_without_a_key_the_action_runs_each_time(core: Core) -> None:
    doors.once(core, key=None, surface="test", action=note(core, "a"))
    doors.once(core, key=None, surface="test", action=note(core, "b"))
    assert door_events(core) == ["a", "b"]
    with core.transaction() as s:
        assert list(s.exec(select(DoorRequest))) == []


def test_a_refused_action_records_nothing_so_the_retry_acts(core: Core) -> None:
    def refuse(session: Session) -> doors.Result:
        note(core, "half-done")(session)
        raise ServiceError("refused")

    with pytest.raises(ServiceError):
        doors.once(core, key="k", surface="test", action=refuse)
    assert door_events(core) == []
    assert doors.once(core, key="k", surface="test", action=note(core, "retry"))[1] is True
    assert door_events(core) == ["retry"]


def test_a_duplicate_committed_meanwhile_rolls_this_action_back(core: Core) -> None:
    # Another process records the same key between our look-up and our commit.
    def racing(session: Session) -> doors.Result:
        note(core, "loser")(session)
        with core.transaction() as other:
            doors.remember(other, core, key="k", surface="test", result={"label": "winner"})
        return {"label": "loser"}

    assert doors.once(core, key="k", surface="test", action=racing) == ({"label": "winner"}, False)
    assert door_events(core) == []  # the loser's action was rolled back with its key


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    yield server
    server.stop()


def test_two_threads_racing_on_postgresql_act_once(postgres: PostgresServer) -> None:
    db = Database(postgres.create_database("doors_race"))
    db.create_schema()
    core = Core(db=db, protocol=load_protocol(None), clock=FixedClock(MONDAY_10))
    inside = threading.Barrier(2, timeout=30)
    results: list[tuple[doors.Result, bool]] = []

    def action(session: Session) -> doors.Result:
        label = threading.current_thread().name
        note(core, label)(session)
        inside.wait()  # both have looked the key up and acted before either commits
        return {"label": label}

    def run() -> None:
        results.append(doors.once(core, key="same", surface="test", action=action))

    threads = [threading.Thread(target=run, name=f"t{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(first for _, first in results) == [False, True]
    assert results[0][0] == results[1][0]
    assert door_events(core) == [results[0][0]["label"]]
    db.engine.dispose()


# --- the CLI: --idempotency-key on `open` and `media new` -------------------------------------


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[tuple[CliRunner, dict[str, str], Database]]:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}", "MAILDIR": str(tmp_path / "mail"),
        "ATTACHMENTS_DIR": str(tmp_path / "att"), "STATE_DIR": str(tmp_path / "state"),
        "PROTOCOL_FILE": "", "MAIL_BACKEND": "maildir",
    }
    db = Database(env["DATABASE_URL"])
    yield CliRunner(), env, db
    db.engine.dispose()


def test_cli_open_with_the_same_key_opens_one_case(cli: tuple[CliRunner, dict[str, str], Database]) -> None:
    from bot.cli import main

    runner, env, db = cli
    args = ["--now", "2026-11-18T10:00", "open", "--referring-agency", "police", "--incident-date",
            "2026-11-16", "--outcome", "death", "--idempotency-key", "phone-call-42"]
    first = runner.invoke(main, args, env=env, catch_exceptions=False)
    again = runner.invoke(main, args, env=env, catch_exceptions=False)
    other = runner.invoke(main, [*args[:-1], "phone-call-43"], env=env, catch_exceptions=False)
    assert (first.exit_code, again.exit_code, other.exit_code) == (0, 0, 0), first.output
    assert first.output.startswith("opened SI-2026-0001") and again.output == first.output
    assert other.output.startswith("opened SI-2026-0002")
    with db.transaction() as s:
        assert [c.ref for c in s.exec(select(Case))] == ["SI-2026-0001", "SI-2026-0002"]


def test_cli_media_new_with_the_same_key_records_one_enquiry(
    cli: tuple[CliRunner, dict[str, str], Database],
) -> None:
    from bot.cli import main

    runner, env, db = cli
    args = ["--now", "2026-11-18T10:00", "media", "new", "--outlet", "Evening Post", "--subject",
            "partnership", "--idempotency-key", "call-7"]
    first = runner.invoke(main, args, env=env, catch_exceptions=False)
    again = runner.invoke(main, args, env=env, catch_exceptions=False)
    assert (first.exit_code, again.exit_code) == (0, 0), first.output
    assert first.output.startswith("ME-2026-0001:") and again.output == first.output
    with db.transaction() as s:
        assert [e.ref for e in s.exec(select(MediaEnquiry))] == ["ME-2026-0001"]
