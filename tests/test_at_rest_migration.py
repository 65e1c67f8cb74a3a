"""Migration 0010 (decision 0029): an installation at 0006 with identifying data in the clear is
upgraded with the installation's key; every value reads back through the models as it was, the
canary is gone from the database file, its WAL or a pg_dump, duplicate detection still knows the
old message, and the downgrade opens everything again."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import MetaData, create_engine, insert, text
from sqlmodel import select

from bot.at_rest import KeyProblem, Keyring, fallback_kek, use_fallback_kek
from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.inbound import record_message
from bot.models import (
    AgencyRequest,
    Attachment,
    Case,
    DoorRequest,
    InboundMessage,
    MediaEnquiry,
    MediaStatement,
    OutboxMessage,
)
from bot.models_chronology import ChronologyEvent
from bot.models_outbox import OutboxAttachment
from bot.models_review import LocalReview
from bot.protocol import load_protocol
from bot.schema import alembic_config, current, migration_engine, upgrade
from tests.support.at_rest import database_files
from tests.support.postgres import PostgresServer

CANARY = "Quillon Vantablack"
T0 = datetime(2026, 11, 16, 10, 0)
RAW = (f"From: duty@borough.example\r\nMessage-ID: <r1@borough.example>\r\nSubject: referral\r\n\r\n"
       f"{CANARY}, seven months, died on 16 November.\r\n").encode()
ROWS: dict[str, list[dict[str, Any]]] = {
    "case": [{"id": 1, "ref": "SI-2026-0001", "stage": "lcspr", "created_at": T0, "updated_at": T0,
              "source": "email", "referrer": "duty@borough.example", "agencies_involved": [],
              "parallel_processes": [], "missing": [], "terms": {},
              "decision_rationale": f"criteria met: {CANARY}", "closed_reason": None}],
    "agencyrequest": [{"id": 7, "case_id": 1, "agency": "police", "kind": "chronology", "status": "closed",
                       "sent_at": T0, "due_at": T0, "chases": 0, "closed_reason": f"{CANARY} moved"}],
    "inboundmessage": [{"id": 9, "message_id": "<r1@borough.example>", "mailbox": "inbox", "received_at": T0,
                        "from_addr": "duty@borough.example", "classification": "referral", "case_id": 1,
                        "raw": RAW, "triage_reason": None, "digest": None}],
    "attachment": [{"id": 3, "inbound_id": 9, "stored_name": "abc", "display_name": f"{CANARY}.docx",
                    "content_type": "application/octet-stream", "size": 4}],
    "outboxmessage": [{"id": 5, "idempotency_key": "k5", "kind": "chronology_request", "case_id": 1,
                       "to": ["reviews@police.example"], "cc": [], "subject": f"About {CANARY}",
                       "body_text": f"Dear police, {CANARY}", "body_html": f"<p>{CANARY}</p>",
                       "message_id": "<o5@partnership.example>", "status": "sent", "attempts": 1,
                       "created_at": T0, "next_attempt_at": T0}],
    "outboxattachment": [{"id": 1, "outbox_id": 5, "position": 0, "filename": f"{CANARY}.txt",
                          "content_type": "text/plain", "content": f"notes on {CANARY}".encode()}],
    "mediaenquiry": [{"id": 2, "ref": "ME-2026-0001", "received_at": T0, "source": "cli",
                      "raised_by": "cli:p",
                      "outlet": "Gazette", "journalist": "Jo Reporter", "contact": "jo@gazette.example",
                      "subject": "case", "case_id": 1, "summary": f"asks about {CANARY}",
                      "question": f"Was {CANARY} known?", "route": "case", "routing": {}, "status": "open",
                      "alerts_repeated": 0, "reminders_sent": 0}],
    "mediastatement": [{"id": 4, "enquiry_id": 2, "version": 1, "kind": "holding_statement",
                        "text": f"We are saddened. ({CANARY})", "status": "draft", "drafted_by": "cli:p",
                        "drafted_at": T0, "approvals": []}],
    "doorrequest": [{"id": 8, "key": "cli:abc", "surface": "cli", "created_at": T0,
                     "result": {"lines": [f"SI-2026-0001: {CANARY}"]}}],
    "localreview": [{"case_id": 1, "methodology": "learning-event", "learning_events": 0,
                     "reviewer_name": "Rev Iewer", "reviewer_email": "rev@reviews.example"}],
    "chronologyreturn": [{"id": 6, "case_id": 1, "request_id": 7, "agency": "police", "inbound_id": 9,
                          "received_at": T0, "status": "valid", "attempts": 1, "events": 1, "problems": []}],
    "chronologyevent": [{"id": 1, "return_id": 6, "case_id": 1, "agency": "police", "position": 0,
                         "place": "sheet 'C' row 2", "date_from": date(2026, 6, 1),
                         "date_to": date(2026, 6, 1),
                         "approximate": False, "date_label": "01/06/2026", "source": "Police log",
                         "event": f"{CANARY} reported missing", "outcome": "Found",
                         "extra": {"Analysis": f"{CANARY} at risk"}}],
}
MODELS = {"case": Case, "agencyrequest": AgencyRequest, "inboundmessage": InboundMessage,
          "attachment": Attachment, "outboxmessage": OutboxMessage, "outboxattachment": OutboxAttachment,
          "mediaenquiry": MediaEnquiry, "mediastatement": MediaStatement, "doorrequest": DoorRequest,
          "localreview": LocalReview, "chronologyevent": ChronologyEvent}


def downgrade(url: str, revision: str) -> None:
    engine = migration_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            command.downgrade(alembic_config(conn), revision)
    finally:
        engine.dispose()


def installation_at_0006(url: str) -> None:
    upgrade(url, "0006")
    engine = create_engine(url)
    try:
        tables = MetaData()
        tables.reflect(engine)
        with engine.begin() as conn:
            for name, rows in ROWS.items():
                conn.execute(insert(tables.tables[name]), rows)
    finally:
        engine.dispose()


def as_read(url: str) -> dict[str, dict[str, Any]]:
    """Each row through today's models, as the bot's code reads it."""
    db = Database(url)
    try:
        with db.session() as s:
            found = {}
            for name, model in MODELS.items():
                (row,) = s.exec(select(model)).all()
                found[name] = row.model_dump()
            return found
    finally:
        db.engine.dispose()


def test_an_installation_at_0006_is_sealed_by_the_upgrade_and_reads_the_same(
    database_url: str, pg_server: PostgresServer | None, tmp_path: Path,
) -> None:
    installation_at_0006(database_url)
    assert any(CANARY.encode() in data for data in database_files(database_url, pg_server).values())
    kek = fallback_kek()
    assert kek is not None
    upgrade(database_url, keyring=Keyring(kek, "DATA_KEY"))  # as `review-bot db upgrade` does
    assert current(database_url).kind == "current"

    found = as_read(database_url)
    for name, rows in ROWS.items():
        if name in found:
            for column, value in rows[0].items():
                if column not in found[name]:
                    continue  # dropped by a later revision (0009: the media clock's own columns)
                if column not in ("created_at", "updated_at", "sent_at", "due_at", "received_at",
                                  "next_attempt_at", "drafted_at", "digest"):
                    assert found[name][column] == value, (name, column)
    for name, data in database_files(database_url, pg_server).items():
        assert CANARY.encode() not in data, f"canary in {name}"

    # The old referral, delivered again, is still a duplicate (its digest, worked out from the
    # sealed bytes, is compared as a keyed hash).
    db = Database(database_url)
    clock = FixedClock(datetime(2026, 11, 17, 9, 0, tzinfo=UTC))
    core = Core(db=db, protocol=load_protocol(None), clock=clock, attachments_dir=tmp_path / "att")
    try:
        with core.transaction() as s:
            again = record_message(s, core, message_id="<r1@borough.example>", raw=RAW, mailbox="inbox",
                                   from_addr="duty@borough.example")
            assert (again.fresh, again.reuses, again.row.id) == (False, None, 9)
    finally:
        db.engine.dispose()

    downgrade(database_url, "0006")
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT raw FROM inboundmessage")).scalar_one() == RAW
            assert conn.execute(text("SELECT journalist FROM mediaenquiry")).scalar_one() == "Jo Reporter"
    finally:
        engine.dispose()


def test_an_upgrade_with_data_to_seal_and_no_key_is_refused_by_name(database_url: str) -> None:
    installation_at_0006(database_url)
    kek = fallback_kek()
    use_fallback_kek(None)  # as an installation with no key at all
    try:
        with pytest.raises(KeyProblem, match=r"no key was given: set DATA_KEY or DATA_KEY_FILE"):
            upgrade(database_url)
    finally:
        use_fallback_kek(kek)
    assert current(database_url).revision == "0006"  # nothing changed
