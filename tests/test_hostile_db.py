"""What the intake does when the database, not the message, is the problem (issue 10): a lock or
an integrity error that is not a duplicate leaves the mail in the mailbox, unrecorded and out of
triage, for the next tick; files written before a transaction that never committed are swept."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from bot.core import Core
from bot.inbound import sweep_orphan_attachments
from bot.mail.maildir import MaildirGateway
from bot.models import Attachment, Case, InboundMessage
from schedules.sweep import TickReport, poll_mailbox, tick
from tests.support.hostile import REFERRAL_FORM, referral

REFERRAL = referral(REFERRAL_FORM, "locked.1@borough.example")


def drop(maildir: MaildirGateway, raw: bytes, name: str) -> Path:
    new = maildir.root / "inbox" / "new"
    new.mkdir(parents=True, exist_ok=True)
    (new / name).write_bytes(raw)
    return new / name


def short_busy_timeout(core: Core) -> None:
    """SQLite waits busy_timeout (5 s) inside each attempt; the test does not need to."""
    if core.db.engine.dialect.name != "sqlite":
        # "database is locked" is SQLite's; PostgreSQL waits for row locks instead of failing, and
        # its transient errors (serialization, deadlock, lost connection) share the retry path.
        pytest.skip("a SQLite write lock held by another connection")

    @event.listens_for(core.db.engine, "connect")
    def _short(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=20")

    core.db.engine.dispose()


@contextmanager
def exclusive_lock(core: Core) -> Iterator[None]:
    """Another process's write transaction: a second connection holding BEGIN EXCLUSIVE."""
    path = core.db.engine.url.database
    assert path
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def rows(core: Core) -> list[InboundMessage]:
    with core.db.session() as s:
        return list(s.exec(select(InboundMessage)))


def test_a_locked_database_leaves_the_mail_in_the_inbox_for_the_next_tick(
    core: Core, maildir: MaildirGateway
) -> None:
    short_busy_timeout(core)
    path = drop(maildir, REFERRAL, "1700000000.locked.host")
    report = TickReport()
    with exclusive_lock(core):
        poll_mailbox(core, maildir, report)
    assert report.intake_deferred and "OperationalError" in report.intake_deferred
    assert report.received == [] and report.mailbox_error is None
    assert path.exists()  # not marked processed
    assert rows(core) == []  # not recorded, so not in triage either

    again = tick(core, maildir)
    assert [r.classification for r in again.received] == ["referral"]
    assert again.intake_deferred is None and not path.exists()
    (row,) = rows(core)
    assert row.triage_status is None and row.case_id is not None


def test_an_integrity_error_that_is_not_the_message_id_is_retried_then_triaged_not_dropped(
    core: Core, maildir: MaildirGateway
) -> None:
    """Not taken for a duplicate (the message is kept), retried (a second instance numbering the
    same reference is a race that passes), and when the same refusal comes every time it is no
    race: the message waits in triage for a person and the mailbox moves on (review of issue 10)."""
    # The reference the intake will number is taken: the case insert fails on Case.ref.
    with core.db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO \"case\" (ref, stage, created_at, updated_at, source, referrer, missing,"
            " agencies_involved, parallel_processes, terms) VALUES ('SI-2026-0001', 'referral',"
            " '2026-11-16 09:00:00', '2026-11-16 09:00:00', 'cli', 'x', '[]', '[]', '[]', '{}')"
        )
    path = drop(maildir, REFERRAL, "1700000000.integrity.host")
    drop(maildir, referral(REFERRAL_FORM, "behind.1@borough.example"), "1700000001.behind.host")
    report = TickReport()
    poll_mailbox(core, maildir, report)
    assert report.intake_deferred is None and not path.exists()
    held = [r for r in rows(core) if r.triage_status == "open"]
    assert len(held) == 2 and all("IntegrityError" in (r.triage_reason or "") for r in held)
    assert all(r.raw for r in held)  # the bytes are kept for the person who opens it by hand


def test_files_with_no_attachment_row_are_swept_after_an_hour(
    core: Core, maildir: MaildirGateway
) -> None:
    from tests.support.hostile import CORPUS

    (entry,) = [h for h in CORPUS if h.name == "forwarded-return"]
    drop(maildir, entry.build("<none@x.example>", "SI-2026-0001"), "1700000000.kept.host")
    tick(core, maildir)
    with core.db.session() as s:
        kept = [a.stored_name for a in s.exec(select(Attachment)) if a.stored_name]
    assert kept
    folder = core.attachments_dir
    old_orphan, young_orphan = folder / ("0" * 32), folder / ("1" * 32)
    old_orphan.write_bytes(b"left by a crash")
    young_orphan.write_bytes(b"an intake still in its transaction")
    two_hours_ago = time.time() - 2 * 3600  # files carry wall-clock times
    for path in [old_orphan, *(folder / name for name in kept)]:
        os.utime(path, (two_hours_ago, two_hours_ago))
    os.utime(young_orphan, (time.time(),) * 2)

    assert sweep_orphan_attachments(core) == 1
    assert not old_orphan.exists() and young_orphan.exists()
    assert all((folder / name).exists() for name in kept)  # rows name them: kept
    assert sweep_orphan_attachments(core) == 0


def test_a_case_row_is_opened_once_even_after_a_deferred_poll(
    core: Core, maildir: MaildirGateway
) -> None:
    short_busy_timeout(core)
    drop(maildir, REFERRAL, "1700000000.twice.host")
    with exclusive_lock(core):
        poll_mailbox(core, maildir, TickReport())
    tick(core, maildir)
    tick(core, maildir)
    with core.db.session() as s:
        assert len(list(s.exec(select(Case)))) == 1
    assert len(rows(core)) == 1


@pytest.mark.parametrize("bad_id", ["<a\x00b@evil.example>", "<" + "x" * 3500 + "@evil.example>"])
def test_a_message_id_the_database_cannot_store_does_not_hold_up_the_mailbox(
    core: Core, maildir: MaildirGateway, bad_id: str,
) -> None:
    """PostgreSQL refuses NUL in text and btree entries over ~2.7 KB: such an id is not used (the
    message is kept under its digest-based id), and the mail behind it is read in the same tick."""
    hostile = REFERRAL.replace(b"Message-ID: <", f"Message-ID: {bad_id}\r\nX-Old-Id: <".encode(), 1)
    assert bad_id.encode() in hostile
    drop(maildir, hostile, "1700000000.a-hostile.host")
    drop(maildir, referral(REFERRAL_FORM, "after.1@borough.example"), "1700000001.b-next.host")
    report = tick(core, maildir)
    assert report.database_errors == [] and report.intake_deferred is None
    assert len(report.received) == 2
    ids = [r.message_id for r in rows(core)]
    assert len(ids) == 2 and all(i.isprintable() and len(i) <= 500 for i in ids)
    assert list((maildir.root / "inbox" / "new").iterdir()) == []
