"""Backup and restore round trips, as an operator runs them (``python -m bot.backup``), on SQLite
and on a real PostgreSQL: row counts equal and an attachment's bytes come back identical."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import select

from bot.app import create_app
from bot.at_rest_files import attachment_context
from bot.clock import FixedClock
from bot.inbound import InboundAttachment, store_attachments
from bot.models import Attachment, InboundMessage
from bot.settings import Settings
from tests.conftest import MONDAY_10, notified_case
from tests.support.at_rest import keyring_for
from tests.support.postgres import PostgresServer, find_pg_bin

#: Stands for a referral narrative in a PDF: binary, and never seen anywhere but the store.
PAYLOAD = bytes(range(256)) * 41 + b"narrative"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    yield server
    server.stop()


def fill(settings: Settings) -> str:
    """A bot that has worked: two cases with events and deadlines, one stored attachment."""
    app = create_app(settings, clock=FixedClock(MONDAY_10))
    core = app.core
    notified_case(core)
    notified_case(core)
    with core.transaction() as s:
        inbound = InboundMessage(message_id="<a@agency.example>", mailbox="test", received_at=MONDAY_10,
                                 from_addr="x@agency.example", raw=b"raw message")
        s.add(inbound)
        s.flush()
        store_attachments(s, core, inbound, [InboundAttachment("return.pdf", "application/pdf", PAYLOAD)])
        stored = s.exec(select(Attachment)).one().stored_name
    core.db.engine.dispose()
    assert stored is not None
    return stored


def backup_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DATA_", "DATABASE_", "ATTACH"))}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "bot.backup", *args], env=full, cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        names = ["case", "event", "deadline", "inboundmessage", "attachment", "outboxmessage"]
        result = {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}
    engine.dispose()
    return result


def stored_payload(settings: Settings, stored: str) -> bytes:
    """An attachment as the store holds it: sealed (docs/encryption.md), opened with the
    database's key; its plain bytes are nowhere in the file."""
    sealed = (settings.attachments_dir / stored).read_bytes()
    assert PAYLOAD not in sealed
    return keyring_for(settings.database_url).open(sealed, attachment_context(stored))


def round_trip(tmp_path: Path, source_env: dict[str, str], target_env: dict[str, str]) -> None:
    source = Settings(_env_file=None, **{k.lower(): v for k, v in source_env.items()})
    stored = fill(source)
    before = counts(source.database_url)
    assert before["case"] == 2 and before["event"] > 2 and before["attachment"] == 1

    made = backup_cli("create", "--to", str(tmp_path / "backups"), env=source_env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    archive = Path(made.stdout.strip())
    assert archive.parent == tmp_path / "backups" and archive.stat().st_mode & 0o077 == 0
    with tarfile.open(archive) as tar:
        assert f"attachments/{stored}" in tar.getnames()

    restored = backup_cli("restore", str(archive), env=target_env, cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith("verified: ")
    target = Settings(_env_file=None, **{k.lower(): v for k, v in target_env.items()})
    assert counts(target.database_url) == before
    assert stored_payload(target, stored) == PAYLOAD

    # A second restore over the restored data is refused without --force, and works with it.
    again = backup_cli("restore", str(archive), env=target_env, cwd=tmp_path)
    assert again.returncode == 2 and "not empty" in again.stderr
    (target.attachments_dir / stored).write_bytes(b"tampered")
    check = backup_cli("verify", str(archive), env=target_env, cwd=tmp_path)
    assert check.returncode == 2 and f"attachment {stored}: missing or changed" in check.stderr
    forced = backup_cli("restore", "--force", str(archive), env=target_env, cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert counts(target.database_url) == before
    assert stored_payload(target, stored) == PAYLOAD


def test_sqlite_round_trip(tmp_path: Path) -> None:
    round_trip(tmp_path, {"DATA_DIR": str(tmp_path / "live")}, {"DATA_DIR": str(tmp_path / "restored")})


@pytest.mark.skipif(find_pg_bin() is None, reason="PostgreSQL is not installed (scripts/test-deps.sh)")
def test_postgresql_round_trip(tmp_path: Path, postgres: PostgresServer) -> None:
    live = postgres.create_database("backup_live")
    empty = postgres.create_database("backup_restored")
    pg_bin = {"PG_BIN": str(find_pg_bin())}
    round_trip(tmp_path, {"DATA_DIR": str(tmp_path / "live"), "DATABASE_URL": live, **pg_bin},
               {"DATA_DIR": str(tmp_path / "restored"), "DATABASE_URL": empty, **pg_bin})


def test_a_backup_of_the_other_kind_is_refused(tmp_path: Path) -> None:
    fill(Settings(_env_file=None, data_dir=tmp_path / "live"))
    made = backup_cli("create", env={"DATA_DIR": str(tmp_path / "live")}, cwd=tmp_path)
    archive = Path(made.stdout.strip())
    assert archive.parent == tmp_path / "live" / "backups"
    wrong = backup_cli("restore", str(archive), cwd=tmp_path,
                       env={"DATABASE_URL": "postgresql+psycopg://u:pw@127.0.0.1:1/x"})
    assert wrong.returncode == 2 and "holds a sqlite database" in wrong.stderr
