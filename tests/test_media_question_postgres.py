"""The emailed question on PostgreSQL (the production database): a 4,000-character question with
non-ASCII text survives the round trip, through the real intake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.media import QUESTION_LIMIT, get_enquiry
from bot.protocol import load_protocol
from handlers.mail.intake import ingest
from tests.support.postgres import PostgresServer, find_pg_bin

pytestmark = pytest.mark.skipif(find_pg_bin() is None, reason="PostgreSQL is not installed")


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    yield server
    server.stop()


def test_a_long_question_round_trips_in_postgresql(postgres: PostgresServer, tmp_path: Path) -> None:
    db = Database(postgres.create_database("media_question"))
    db.create_schema()
    core = Core(db=db, protocol=load_protocol(None), clock=FixedClock(datetime(2026, 11, 18, 10, tzinfo=UTC)),
                attachments_dir=tmp_path / "att")
    words = "Pourquoi l'enquête — “why” — ça? " * 300
    raw = (
        "From: Alex <alex@radio.example>\nTo: media@partnership.example\nSubject: Question\n"
        "Message-ID: <pg-question@radio.example>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"Outlet: Radio\nDeadline: 4pm today\n\n{words}\n"
    ).encode()
    assert ingest(core, raw, mailbox="t").classification == "media-enquiry"
    with db.session() as s:
        question = get_enquiry(s, "ME-2026-0001").question
    assert question is not None and len(question) <= QUESTION_LIMIT
    assert question.startswith("Pourquoi l'enquête — “why” — ça?")
    assert question.endswith("[shortened: the full message is in the mailbox]")
