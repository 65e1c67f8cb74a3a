"""A reviewer's pass over issue 13: ``keys rotate`` (the re-seal) and the retention purge running
at the same time. The purge empties values and deletes attachment files while the re-seal reads
and rewrites them: nothing emptied may come back, the re-seal must not stop on a file that went,
and everything ends under the newest key. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from bot.at_rest import HEADER_SIZE, header_of
from bot.at_rest_rotation import new_data_key, reseal, status
from bot.clock import FixedClock
from bot.core import Core
from bot.inbound import InboundAttachment, record_message, store_attachments
from bot.models import Attachment, InboundMessage
from bot.retention import purge

CANARY = b"Narrative about Poppy Canaryfield."
RECEIVED = datetime(2025, 1, 6, 10, tzinfo=UTC)


def stray_mail(core: Core, clock: FixedClock, n: int, files: int = 1) -> None:
    """``n`` messages that belong to no case (the raw_mail class), each with ``files`` attachments."""
    clock.set(RECEIVED)
    with core.transaction() as s:
        for i in range(n):
            row = record_message(s, core, message_id=f"<m{i}@stray.example>", raw=CANARY + b"%d" % i,
                                 mailbox="inbox", from_addr="parent@home.example").row
            row.classification = "unknown"
            s.flush()
            store_attachments(s, core, row, [
                InboundAttachment(f"poppy-{i}-{k}.txt", "text/plain", CANARY * 20) for k in range(files)])


def key_of(path: Path) -> int | None:
    try:
        with open(path, "rb") as f:
            return header_of(f.read(HEADER_SIZE + 28), "test")[2]
    except FileNotFoundError:
        return None


def run_in_thread(fn: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def target() -> None:
        try:
            out.append(fn())
        except BaseException as exc:
            out.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, out


def test_a_file_deleted_while_the_reseal_passes_over_the_store_is_skipped(
    core: Core, clock: FixedClock,
) -> None:
    # The purge unlinks a purged message's files after its commit, and the hourly orphan sweep
    # unlinks unnamed ones: either can happen while `keys rotate` walks the store.
    stray_mail(core, clock, 150, files=8)
    folder = Path(core.attachments_dir)
    with os.scandir(folder) as entries:
        order = [e.name for e in entries if not e.name.startswith(".")]
    new = new_data_key(core)
    thread, out = run_in_thread(lambda: reseal(core, batch=500, settle=0))
    deadline = time.monotonic() + 60
    while key_of(folder / order[0]) != new and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.001)
    # The pass has begun on the store: files it has not reached yet go (the last first).
    gone = order[len(order) // 2:]
    for name in reversed(gone):
        (folder / name).unlink(missing_ok=True)
    thread.join(120)
    assert not thread.is_alive()
    [result] = out
    assert not isinstance(result, BaseException), repr(result)
    left = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    assert left == sorted(order[: len(order) // 2])
    assert all(key_of(folder / name) == new for name in left)


def test_a_rotation_and_the_purge_at_once_leave_nothing_restored_and_all_under_the_new_key(
    core: Core, clock: FixedClock,
) -> None:
    stray_mail(core, clock, 300)
    clock.set(RECEIVED + timedelta(days=400))  # past the raw mail's 12 months
    new = new_data_key(core)
    thread, out = run_in_thread(lambda: reseal(core, batch=10, settle=0))
    rounds = 0
    while purge(core) and rounds < 20:
        rounds += 1
    thread.join(120)
    assert not thread.is_alive()
    [result] = out
    assert not isinstance(result, BaseException), repr(result)
    reseal(core, settle=0)  # what the rotation's second pass would find
    with core.db.session() as s:
        rows = list(s.exec(select(InboundMessage)))
        assert len(rows) == 300 and all(m.raw == b"" and m.from_addr == "" for m in rows)
        attachments = list(s.exec(select(Attachment)))
        assert all(a.stored_name is None and a.display_name == "purged" for a in attachments)
        assert not list(s.exec(select(Attachment).where(col(Attachment.stored_name).is_not(None))))
    assert [p for p in Path(core.attachments_dir).iterdir() if not p.name.startswith(".")] == []
    per_key = status(core).per_key()
    assert set(per_key) == {new}, per_key
