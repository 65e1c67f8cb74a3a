"""Migrations on both databases (decision 0014): a new database is created at head, a database
made by create_all before migrations is checked, stamped and upgraded with nothing lost, an
older schema is refused at start-up unless an upgrade is allowed, and the models and the
migrations agree (Alembic's compare_metadata finds no difference)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner, Result
from sqlalchemy import MetaData, create_engine, func, insert, inspect, select, text
from sqlmodel import SQLModel

import bot.models  # noqa: F401  (registers the tables)
from bot.cli import main
from bot.db import Database
from bot.schema import (
    BASELINE,
    SchemaError,
    current,
    ensure_schema,
    head_revision,
    new_revision,
    upgrade,
)
from tests.support.at_rest import keyring_for, open_stored

LEGACY = Path(__file__).parent / "support" / "legacy_schema"
MIGRATIONS = Path(__file__).parent.parent / "bot" / "migrations"


def model_differences(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, SQLModel.metadata))
    finally:
        engine.dispose()


def cli(url: str, tmp_path: Path, *args: str) -> Result:
    env = {"DATABASE_URL": url, "MAILDIR": str(tmp_path / "mail"), "PROTOCOL_FILE": "",
           "ATTACHMENTS_DIR": str(tmp_path / "att"), "STATE_DIR": str(tmp_path / "state"),
           "MAIL_BACKEND": "maildir"}
    return CliRunner().invoke(main, list(args), env=env)


def load_legacy_schema(url: str, backend: str) -> None:
    """The tables exactly as today's create_all made them (frozen DDL, see the .sql headers)."""
    ddl = (LEGACY / f"{backend}.sql").read_text()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            if backend == "sqlite":
                driver.executescript(ddl)  # type: ignore[union-attr]
            else:
                driver.execute(ddl)  # type: ignore[union-attr]
                driver.commit()  # type: ignore[union-attr]
    finally:
        engine.dispose()


#: Rows of every kind the bot writes, as plain column values (naive UTC, as stored).
T0 = datetime(2026, 11, 16, 10, 0)
RAW = b"From: police@agency.example\r\nSubject: RE: [SI-2026-0001]\r\n\r\n\xe2\x80\x94 caf\xc3\xa9\r\n"
ROWS: dict[str, list[dict[str, Any]]] = {
    "case": [{"id": 1, "ref": "SI-2026-0001", "stage": "info_gathering", "created_at": T0,
              "updated_at": T0, "source": "email", "referrer": "duty@borough.example",
              "incident_date": date(2026, 11, 12), "agencies_involved": ["police", "icb"],
              "parallel_processes": [], "missing": [], "terms": {"durations": {"rapid_review": "15wd"}}}],
    "agencyrequest": [{"id": 7, "case_id": 1, "agency": "police", "kind": "info-gathering",
                       "status": "sent", "sent_at": T0, "due_at": T0, "chases": 1,
                       "message_id": "<req.7@partnership.example>"}],
    "deadline": [{"id": 3, "case_id": 1, "request_id": 7, "kind": "info-gathering_return",
                  "anchor_at": T0, "due_at": T0, "step": 2, "next_action_at": T0}],
    "outboxmessage": [{"id": 5, "idempotency_key": "request:7:sent", "kind": "info-gathering_request",
                       "case_id": 1, "request_id": 7, "to": ["police@agency.example"], "cc": [],
                       "subject": "s", "body_text": "t", "message_id": "<req.7@partnership.example>",
                       "status": "sent", "attempts": 1, "created_at": T0, "next_attempt_at": T0},
                      # A chase the older version held overnight for working hours.
                      {"id": 6, "idempotency_key": "deadline:3:step:1", "kind": "overdue_chase",
                       "case_id": 1, "request_id": 7, "to": ["police@agency.example"], "cc": [],
                       "subject": "s", "body_text": "t", "message_id": "<chase.3@partnership.example>",
                       "status": "pending", "attempts": 0, "created_at": T0, "next_attempt_at": T0}],
    "inboundmessage": [{"id": 9, "message_id": "<in.9@agency.example>", "mailbox": "inbox",
                        "received_at": T0, "from_addr": "police@agency.example",
                        "classification": "return", "case_id": 1, "request_id": 7, "raw": RAW}],
    "event": [{"id": 11, "case_id": 1, "at": T0, "actor": "cli:bm", "kind": "case_opened",
               "detail": {"source": "email"}}],
}


def write_rows(url: str) -> None:
    engine = create_engine(url)
    try:
        tables = MetaData()
        tables.reflect(engine)
        with engine.begin() as conn:
            for name, rows in ROWS.items():
                conn.execute(insert(tables.tables[name]), rows)
    finally:
        engine.dispose()


def assert_rows_intact(url: str, *, sealed: bool = True) -> None:
    """Every row as written, sealed columns opened when migration 0010 sealed them (``sealed``);
    rows written as they are at head are compared as they are."""
    keyring = keyring_for(url) if sealed else None
    engine = create_engine(url)
    try:
        tables = MetaData()
        tables.reflect(engine)
        with engine.connect() as conn:
            for name, rows in ROWS.items():
                found = [dict(r._mapping) for r in conn.execute(select(tables.tables[name]))]
                assert len(found) == len(rows), name
                for key, value in rows[0].items():
                    stored = found[0][key]
                    plain = open_stored(keyring, name, key, stored) if keyring else stored
                    assert plain == value, (name, key)
    finally:
        engine.dispose()


def test_a_new_database_is_created_at_head_and_matches_the_models(database_url: str) -> None:
    db = Database(database_url)
    db.ensure_schema()
    db.engine.dispose()
    state = current(database_url)
    assert (state.kind, state.revision) == ("current", head_revision())
    assert model_differences(database_url) == []


def test_models_and_migrations_agree(database_url: str) -> None:
    """Fails when a model changed without a revision: run `review-bot db revision -m ...`."""
    before, after = upgrade(database_url)
    assert (before.kind, after.kind) == ("empty", "current")
    differences = model_differences(database_url)
    assert differences == [], f"models and migrations differ; write a revision: {differences}"


def test_a_database_made_before_migrations_is_stamped_and_upgraded_with_nothing_lost(
    database_url: str, db_backend: str, tmp_path: Path,
) -> None:
    load_legacy_schema(database_url, db_backend)
    write_rows(database_url)
    assert current(database_url).kind == "legacy"

    result = cli(database_url, tmp_path, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "matches the baseline, stamped" in result.output
    assert f"-> {head_revision()} (head)" in result.output

    assert current(database_url).kind == "current"
    assert_rows_intact(database_url)
    assert model_differences(database_url) == []
    engine = create_engine(database_url)
    with engine.connect() as conn:  # the held chase now carries its reason (migration 0002)
        reasons = dict(conn.execute(text("SELECT id, reason FROM outboxmessage")).all())
    engine.dispose()
    assert reasons == {5: None, 6: "deadline:3 request:7"}
    if db_backend == "sqlite":  # the tables copied to name their constraints still link up
        engine = create_engine(database_url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        engine.dispose()
    # And the bot runs on it: the case is there for the business unit.
    listed = cli(database_url, tmp_path, "cases")
    assert listed.exit_code == 0, listed.output
    assert "SI-2026-0001" in listed.output


def test_a_legacy_database_that_differs_from_the_baseline_is_not_stamped(
    database_url: str, db_backend: str, tmp_path: Path,
) -> None:
    load_legacy_schema(database_url, db_backend)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text('ALTER TABLE "case" ADD COLUMN hand_made VARCHAR'))
        conn.execute(text("DROP TABLE chairabsence"))
    engine.dispose()

    result = cli(database_url, tmp_path, "db", "upgrade")
    assert result.exit_code == 2
    assert "column case.hand_made not in the baseline" in result.output
    assert "table chairabsence missing" in result.output
    assert current(database_url).kind == "legacy"  # nothing stamped
    refused = cli(database_url, tmp_path, "cases")  # start-up refuses it as well
    assert refused.exit_code == 2
    assert "review-bot db upgrade" in refused.output  # which then names what differs


@pytest.fixture
def scripts_with_a_second_revision(tmp_path: Path) -> str:
    """The packaged migrations plus a revision adding a column: an upgrade this code needs."""
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / "9001_a_test_column.py").write_text(
        '"""a test column"""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f'revision = "9001"\ndown_revision = "{head_revision()}"\nbranch_labels = None\n'
        "depends_on = None\n\n\ndef upgrade() -> None:\n"
        '    with op.batch_alter_table("case") as batch:\n'
        '        batch.add_column(sa.Column("test_column", sa.String(), nullable=True))\n\n\n'
        "def downgrade() -> None:\n"
        '    with op.batch_alter_table("case") as batch:\n'
        '        batch.drop_column("test_column")\n'
    )
    return str(folder)


def test_start_up_refuses_an_older_schema_and_upgrades_when_allowed(
    database_url: str, scripts_with_a_second_revision: str,
) -> None:
    scripts = scripts_with_a_second_revision
    upgrade(database_url)
    write_rows(database_url)
    db = Database(database_url)
    try:
        assert current(database_url, scripts=scripts).kind == "behind"
        with pytest.raises(SchemaError, match="review-bot db upgrade"):
            ensure_schema(db.engine, database_url, upgrade_allowed=False, scripts=scripts)
        assert current(database_url, scripts=scripts).revision == head_revision()  # untouched

        state = ensure_schema(db.engine, database_url, upgrade_allowed=True, scripts=scripts)
        assert (state.kind, state.revision) == ("current", "9001")
        columns = {c["name"] for c in inspect(db.engine).get_columns("case")}
        assert "test_column" in columns
    finally:
        db.engine.dispose()
    assert_rows_intact(database_url, sealed=False)  # batch mode on SQLite copies the table: nothing lost


def test_two_instances_starting_together_migrate_once(database_url: str) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        db = Database(database_url)
        try:
            results.append(ensure_schema(db.engine, database_url, upgrade_allowed=False).kind)
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.engine.dispose()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert results == ["current", "current"]
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(text("alembic_version"))).scalar() == 1
    engine.dispose()


def test_a_schema_newer_than_the_code_is_refused(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    engine.dispose()
    shown = cli(database_url, tmp_path, "db", "current")
    assert shown.exit_code == 1
    assert "f00d, unknown to this code" in shown.output
    for args in (["cases"], ["db", "upgrade"]):
        refused = cli(database_url, tmp_path, *args)
        assert refused.exit_code == 2, args
        assert "f00d" in refused.output


def test_run_refuses_to_start_on_a_schema_it_does_not_know(database_url: str, tmp_path: Path) -> None:
    """`review-bot run` itself, as a process: it must stop with the message, not start ticking."""
    upgrade(database_url)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    engine.dispose()
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": database_url,
           "DATA_KEY": os.environ["DATA_KEY"], "MAILDIR": str(tmp_path / "mail"),
           "STATE_DIR": str(tmp_path / "state"), "ATTACHMENTS_DIR": str(tmp_path / "att"),
           "MAIL_BACKEND": "maildir"}
    done = subprocess.run([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "f00d, unknown to this code" in done.stderr
    assert "Traceback" not in done.stderr


def test_db_current_tells_what_to_do(database_url: str, tmp_path: Path) -> None:
    empty = cli(database_url, tmp_path, "db", "current")
    assert empty.exit_code == 1
    assert f"empty (no tables); this code's schema is {head_revision()}" in empty.output
    upgraded = cli(database_url, tmp_path, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert f"schema: empty -> {head_revision()} (head)" in upgraded.output
    again = cli(database_url, tmp_path, "db", "upgrade")
    assert "nothing to do" in again.output
    at_head = cli(database_url, tmp_path, "db", "current")
    assert at_head.exit_code == 0
    assert f"schema: {head_revision()} (head)" in at_head.output
    assert head_revision() >= BASELINE


def test_a_new_revision_is_numbered_and_empty_while_the_models_match(tmp_path: Path) -> None:
    """The developer's step (`review-bot db revision -m ...`), on a copy of the scripts."""
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    path = Path(new_revision("nothing changed", scripts=str(folder)))
    number = int(head_revision()) + 1
    assert path.parent == folder / "versions"
    assert path.name == f"{number:04d}_nothing_changed.py"
    text_ = path.read_text()
    assert f"revision: str = '{number:04d}'" in text_
    assert f"down_revision: str | None = '{head_revision()}'" in text_
    # Models and head agree, so autogenerate found nothing to do in either direction.
    assert text_.count("    pass\n") == 2
    assert "op." not in text_


def _raw_compression(url: str) -> tuple[str, str]:
    """How PostgreSQL stores inboundmessage.raw, and how it stored a compressible 100 KB value."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            setting = conn.execute(text(
                "SELECT attcompression::text || attstorage::text FROM pg_attribute "
                "WHERE attrelid = 'inboundmessage'::regclass AND attname = 'raw'"
            )).scalar_one()
            conn.execute(text(
                "INSERT INTO inboundmessage (message_id, mailbox, received_at, from_addr, "
                "classification, raw) VALUES ('<c@t>', 'm', now(), '', 'pending', :raw)"
            ), {"raw": b"Dear colleague, please find the return attached.\r\n" * 2000})
            stored = conn.execute(text(
                "SELECT coalesce(pg_column_compression(raw), 'none') FROM inboundmessage"
            )).scalar_one()
            conn.rollback()
        return setting, stored
    finally:
        engine.dispose()


def test_inbound_raw_bytes_use_lz4_on_postgresql_whether_migrated_or_created(
    database_url: str, schema_database_url: str, db_backend: str,
) -> None:
    """pglz read every large message to the end before giving up on its base64 attachment
    (migration 0003); both ways of making a database store the bytes with lz4."""
    if db_backend != "postgresql":
        pytest.skip("TOAST compression is PostgreSQL's")
    upgrade(database_url)
    # 'l': lz4; 'x': extended storage (compressed, then out of line); the server has lz4.
    assert _raw_compression(database_url) == ("lx", "lz4")
    assert _raw_compression(schema_database_url) == ("lx", "lz4")
