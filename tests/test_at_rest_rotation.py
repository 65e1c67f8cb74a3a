"""Key rotation (decision 0029): a new data key seals new values at once, the re-seal moves every
stored value and attachment file under it in batches, waits while another instance holds the
lease, carries on where a killed run stopped, and a new key-encryption key re-wraps the data keys
(the old key then no longer opens the database)."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.at_rest import KeyProblem, fingerprint, generate_kek, kek_text
from bot.at_rest_keys import load_kek
from bot.at_rest_rotation import LEASE, LEASE_FOR, new_data_key, reseal, rewrap, sealed_places, status
from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.inbound import InboundAttachment, record_message, store_attachments
from bot.leases import acquire
from bot.models import InboundMessage, MediaEnquiry
from bot.settings import Settings

RAW = b"From: a@b.example\r\nSubject: x\r\n\r\nNarrative text.\r\n"


def some_values(core: Core, n: int = 3) -> None:
    with core.transaction() as s:
        for i in range(n):
            s.add(MediaEnquiry(ref=f"ME-2026-{i:04d}", received_at=core.clock.now(), source="cli",
                               raised_by="cli:t", outlet="Gazette", journalist=f"Journalist {i}",
                               contact="c@gazette.example", subject="general", route="general"))
        row = record_message(s, core, message_id="<m1@b.example>", raw=RAW, mailbox="inbox",
                             from_addr="a@b.example").row
        row.classification = "unknown"
        s.flush()
        store_attachments(s, core, row, [InboundAttachment("notes.txt", "text/plain", b"file text")])


def counts(core: Core) -> dict[int, int]:
    return dict(status(core).per_key())


def journalists(core: Core) -> list[str]:
    with core.db.session() as s:
        return list(s.exec(select(MediaEnquiry.journalist).order_by(MediaEnquiry.ref)))


def test_a_rotation_reseals_every_value_and_file_under_the_new_key(core: Core) -> None:
    some_values(core)
    first = core.db.keyring.current_key_id()
    before = counts(core)
    # 3 enquiries x 3 columns (journalist, contact, summary), the mail's sender and bytes, the
    # attachment's name; and the attachment file.
    values = {place: n for place, by_key in status(core).values.items() for n in by_key.values()}
    assert values == {"mediaenquiry.journalist": 3, "mediaenquiry.contact": 3, "mediaenquiry.summary": 3,
                      "inboundmessage.from_addr": 1, "inboundmessage.raw": 1, "attachment.display_name": 1}
    assert set(before) == {first} and before[first] == 13
    assert status(core).files == {first: 1}

    second = new_data_key(core)
    assert second != first and core.db.keyring.current_key_id() == second
    some_values_later = MediaEnquiry(ref="ME-2026-0099", received_at=core.clock.now(), source="cli",
                                     raised_by="cli:t", outlet="Post", subject="general", route="general")
    with core.transaction() as s:
        s.add(some_values_later)
    assert counts(core)[second] == 3  # new values use the new key at once

    assert reseal(core, batch=2, settle=0) == sum(before.values())
    assert counts(core) == {second: sum(before.values()) + 3}
    assert journalists(core) == ["Journalist 0", "Journalist 1", "Journalist 2", ""]
    with core.db.session() as s:
        assert s.exec(select(InboundMessage.raw)).one() == RAW
    assert reseal(core, batch=2, settle=0) == 0  # nothing left


def test_a_second_instance_waits_and_a_killed_run_is_carried_on(core: Core, clock: FixedClock) -> None:
    some_values(core)
    second = new_data_key(core)
    # What a run killed mid-way leaves: its lease, and values still under the old key.
    with core.transaction() as s:
        assert acquire(s, LEASE, "dead-host:1:abc", clock.now(), LEASE_FOR)
    assert reseal(core, settle=0) is None  # the lease is another's: nothing done
    assert second not in counts(core)
    clock.advance(LEASE_FOR + timedelta(seconds=1))
    done = reseal(core, batch=1, settle=0)
    assert done is not None and done > 0 and set(counts(core)) == {second}
    assert journalists(core) == ["Journalist 0", "Journalist 1", "Journalist 2"]
    with core.db.engine.connect() as conn:  # the lease was given back
        held = conn.execute(text("SELECT count(*) FROM lease WHERE name = :n"), {"n": LEASE}).scalar_one()
        assert held == 0


def test_a_value_changed_during_the_pass_is_not_overwritten(core: Core) -> None:
    some_values(core, n=1)
    old = core.db.keyring.current_key_id()
    new_data_key(core)
    # Another instance, still on the old key, writes a new value between a batch's read and its
    # UPDATE: the UPDATE names the value it replaces, so the newer write stands.
    place = next(p for p in sealed_places() if p.context == "mediaenquiry.journalist")
    with core.db.engine.begin() as conn:
        stale = core.db.keyring.seal(b"Written meanwhile", place.context, key_id=old)
        conn.execute(text("UPDATE mediaenquiry SET journalist = :v"), {"v": base64.b64encode(stale).decode()})
    assert reseal(core, settle=0)
    assert journalists(core) == ["Written meanwhile"]


def key_settings(core: Core, kek: bytes) -> Settings:
    return Settings(_env_file=None, database_url=core.db.url, data_key=kek_text(kek))  # type: ignore[call-arg, arg-type]


def test_a_new_key_encryption_key_rewraps_the_data_keys(core: Core) -> None:
    some_values(core, n=1)
    old_kek, new_kek = core.db.keyring.kek, generate_kek()
    assert rewrap(core, new_kek) == 2  # the data key and the lookup key
    assert load_kek(key_settings(core, new_kek)).kek == new_kek
    with pytest.raises(KeyProblem, match="DATA_KEY is not the key this database was encrypted with"):
        load_kek(key_settings(core, old_kek))
    db = Database(core.db.url, kek=new_kek)
    try:
        with db.session() as s:
            assert s.exec(select(MediaEnquiry.journalist)).one() == "Journalist 0"
    finally:
        db.engine.dispose()
    stale = Database(core.db.url, kek=generate_kek())
    try:
        with pytest.raises(KeyProblem, match=fingerprint(new_kek)), stale.session() as s:
            s.exec(select(MediaEnquiry.journalist)).one()
    finally:
        stale.engine.dispose()


def test_a_rotation_killed_with_sigkill_is_carried_on_after_its_lease(core: Core, tmp_path: Path) -> None:
    """`review-bot keys rotate` as a process, killed (SIGKILL) half-way: values under both keys,
    all readable; its lease keeps a second run out until it lapses; `keys reseal` then finishes."""
    with core.transaction() as s:
        for i in range(1500):
            s.add(MediaEnquiry(ref=f"ME-2026-{i:04d}", received_at=core.clock.now(), source="cli",
                               raised_by="cli:t", outlet="Gazette", journalist=f"Journalist {i}",
                               subject="general", route="general"))
    first = core.db.keyring.current_key_id()
    env = {**os.environ, "DATABASE_URL": core.db.url, "DATA_DIR": str(tmp_path / "data"),
           "PROTOCOL_FILE": "", "MAIL_BACKEND": "maildir", "ATTACHMENTS_DIR": str(core.attachments_dir)}
    command = [sys.executable, "-m", "bot", "keys", "rotate", "--batch", "1", "--settle", "0"]
    rotation = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and rotation.poll() is None:
            found = status(core)
            newer = [k["id"] for k in found.keys if k["purpose"] == "data" and k["id"] != first]
            if newer and found.per_key().get(newer[0], 0) >= 50:
                break
            time.sleep(0.02)
        rotation.send_signal(signal.SIGKILL)
    finally:
        rotation.wait()
    assert rotation.returncode == -signal.SIGKILL
    per_key = status(core).per_key()
    assert len(per_key) == 2 and min(per_key.values()) > 0  # cut half-way
    assert journalists(core)[:2] == ["Journalist 0", "Journalist 1"]  # both keys open

    def reseal_cli(*now: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *now, "keys", "reseal"], env=env,
                              capture_output=True, text=True, timeout=300)

    waiting = reseal_cli()
    assert waiting.returncode == 2 and "another instance is re-sealing now" in waiting.stderr
    later = (datetime.now(UTC) + LEASE_FOR + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M+00:00")
    done = reseal_cli("--now", later)
    assert done.returncode == 0, done.stderr
    (current,) = status(core).per_key()
    assert current != first and len(journalists(core)) == 1500
