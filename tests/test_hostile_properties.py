"""Property-based: random and mutated messages never make the intake raise, and every distinct
message is recorded exactly once (one InboundMessage row per distinct content, none lost)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.clock import FixedClock
from bot.core import Core
from bot.db import Database
from bot.inbound import digest_of
from bot.models import InboundMessage
from bot.protocol import load_protocol
from handlers.mail.classify import parse
from handlers.mail.intake import ingest
from tests.conftest import MONDAY_10
from tests.support.eml.build import fixture_names, load
from tests.support.hostile import CORPUS

SMALL = [h.build("<req.1@partnership.example>", "SI-2026-0001") for h in CORPUS
         if h.kind in ("S/MIME", "attached message", "nested parts", "automatic mail", "bad dates",
                       "bidi names")]
SEEDS = SMALL + [load(name, request_message_id="<req.1@partnership.example>",
                      case_ref="SI-2026-0001") for name in fixture_names()]
#: Fragments an attacker would splice in.
FRAGMENTS = [
    b"\n" * 5000, b" " * 3000, b"\r\n\r\n", b"--", b"\n--outer--\n", b"=?utf-8?q?=C3=A9?= " * 200,
    b"Content-Type: multipart/mixed; boundary=\"z\"\n", b"Message-ID: <dup@x.example>\n",
    b"Auto-Submitted: auto-generated\n", b"Date of incident: 99/99/9999\n", b"\x00\xff\xfe",
    b"Content-Transfer-Encoding: base64\n\n" + b"A" * 4000, "\u202e".encode(),
    b"Subject: Referral\n", b"From: a@police.example\n", b"message/rfc822",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "insert", "truncate", "crlf", "repeat"]))
        at = draw(st.integers(0, len(raw)))
        if op == "flip" and raw:
            raw[min(at, len(raw) - 1)] ^= draw(st.integers(1, 255))
        elif op == "insert":
            raw[at:at] = draw(st.sampled_from(FRAGMENTS))
        elif op == "truncate":
            del raw[at:]
        elif op == "crlf":
            raw = bytearray(bytes(raw).replace(b"\n", b"\r\n"))
        else:
            raw[at:at] = raw[at:at + draw(st.integers(0, 2000))]
    return bytes(raw)


messages = st.one_of(mutated(), st.binary(max_size=3000))


def fresh_core(folder: Path) -> Core:
    db = Database(f"sqlite:///{folder / 'p.sqlite3'}")
    db.create_schema()
    return Core(db=db, protocol=load_protocol(None), clock=FixedClock(MONDAY_10),
                attachments_dir=folder / "attachments")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=messages)
def test_any_message_parses_and_reads_without_raising(raw: bytes) -> None:
    parsed = parse(raw)
    parsed.read_all(float("inf"))
    assert parsed.message_id.startswith("<") and parsed.digest == digest_of(raw)
    assert isinstance(parsed.text, str) and isinstance(list(parsed.attachments()), list)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(messages, min_size=1, max_size=5), repeat=st.lists(st.integers(0, 4), max_size=3))
def test_every_distinct_message_is_recorded_exactly_once(batch: list[bytes], repeat: list[int]) -> None:
    sent = batch + [batch[i % len(batch)] for i in repeat]  # some delivered twice
    with tempfile.TemporaryDirectory() as folder:
        core = fresh_core(Path(folder))
        results = [ingest(core, raw, mailbox="prop") for raw in sent]
        with core.db.session() as s:
            rows = list(s.exec(select(InboundMessage)))
    assert len(rows) == len({digest_of(raw) for raw in sent})
    # none lost: every distinct message is kept with its own bytes
    assert {digest_of(row.raw) for row in rows} == {digest_of(raw) for raw in sent}
    assert all(row.raw in sent for row in rows)
    assert all(row.classification != "pending" for row in rows)
    duplicates = [r for r in results if r.classification == "duplicate"]
    assert len(duplicates) == len(sent) - len(rows)
