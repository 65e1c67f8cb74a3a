"""Batches of inbound mail on PostgreSQL with several instances (issue 10; decisions 0013, 0024): two
instances reading one mailbox at once (as if the mailbox lease were lost between them) record and
act on every message once, and a batch and a button recording a case's last two returns at once
still move the case on, once.

Real PostgreSQL, real Maildir; "instances" are separate engines in threads (tests/pg/conftest.py).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlmodel import select

from bot import agency_requests as ar
from bot import inbound_batch
from bot.cases import get_case
from bot.clock import FixedClock
from bot.core import Core
from bot.mail.maildir import MaildirGateway
from bot.models import AgencyRequest, Event, InboundMessage
from bot.stages import Stage
from schedules.sweep import TickReport, poll_mailbox
from tests.pg.conftest import instance, requests_to_police, run_together


def police_return(request_message_id: str, n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Reviews <reviews@police.example>"
    msg["To"] = "reviews@partnership.example"
    msg["Subject"] = "RE: Information gathering request"
    msg["Date"] = "Thu, 19 Nov 2026 11:00:00 +0000"
    msg["Message-ID"] = f"<together.{n}@police.example>"
    msg["In-Reply-To"] = msg["References"] = request_message_id
    msg.set_content("Our return.\n")
    return msg.as_bytes()


def drop(root: Path, messages: list[bytes]) -> None:
    new = root / "inbox" / "new"
    new.mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(messages):
        path = new / f"{1763550000 + i}.M{i:04d}P2.together"
        path.write_bytes(raw)
        os.utime(path, (1763550000 + i, 1763550000 + i))


def message_ids_of(core: Core, request_ids: list[int]) -> list[str]:
    with core.db.session() as s:
        found = {r.id: r.message_id for r in s.exec(select(AgencyRequest))}
    return [found[i] or "" for i in request_ids]


def test_two_instances_reading_one_mailbox_at_once_record_and_act_on_each_message_once(
    url: str, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inbound_batch, "MAX_MESSAGES", 7)  # many batches, overlapping
    one, two = instance(url, clock, tmp_path), instance(url, clock, tmp_path)
    request_ids = requests_to_police(one, 40)  # one case each: every return completes its case
    messages = [police_return(mid, n) for n, mid in enumerate(message_ids_of(one, request_ids))]
    root = tmp_path / "mail"
    drop(root, messages + messages[:10])  # and ten delivered twice
    reports = [TickReport(), TickReport()]

    def read(core: Core, report: TickReport) -> None:
        poll_mailbox(core, MaildirGateway(root), report)

    for _round in range(3):  # a poll deferred by a busy database leaves its rest for the next
        run_together(lambda: read(one, reports[0]), lambda: read(two, reports[1]))
    assert [r.database_errors for r in reports] == [[], []]
    classes = Counter(r.classification for report in reports for r in report.received)
    assert classes["agency-return"] == 40  # each return acted on by exactly one of the two
    assert set(classes) <= {"agency-return", "duplicate"}
    assert not [p for sub in ("new", "cur") for p in (root / "inbox" / sub).glob("*")]
    with one.db.session() as s:
        rows = list(s.exec(select(InboundMessage)))
        events = Counter((e.kind, e.case_id) for e in s.exec(select(Event)))
    assert len(rows) == 40 and {r.classification for r in rows} == {"agency-return"}
    received = [case for (kind, case) in events if kind == "return_received"]
    assert len(received) == 40 and all(events[("return_received", c)] == 1 for c in received)
    moved_on = [c for (kind, c), n in events.items() if kind == "stage_changed" and n]
    assert all(events[("stage_changed", c)] == 3 for c in moved_on)  # accept, notify, all in: once
    for core in (one, two):
        core.db.engine.dispose()


def test_a_batch_and_a_button_recording_the_last_two_returns_at_once_move_the_case_on_once(
    url: str, clock: FixedClock, tmp_path: Path,
) -> None:
    """The button holds the case row while the batch records the other return: the batch's check
    at its end waits for the button's commit, then sees both returns in (decision 0024)."""
    from datetime import date

    from bot.cases import Referral, accept, open_case, record_sin_submitted

    one, two = instance(url, clock, tmp_path), instance(url, clock, tmp_path)
    bm = "bm@partnership.example"
    with one.transaction() as s:
        case = open_case(s, one, Referral(referring_agency="la-csc", incident_date=date(2026, 11, 12),
                                          la_aware_date=date(2026, 11, 13), outcome="death"),
                         actor=bm, source="cli")
        accept(s, one, case, actor=bm)
        record_sin_submitted(s, one, case, at=None, actor=bm)
        police, icb = ar.send_requests(s, one, case, kind="info-gathering", agencies=["police", "icb"],
                                       actor=bm)
        ref, police_id, icb_id = case.ref, police.id, icb.id
    assert police_id is not None and icb_id is not None
    other = requests_to_police(one, 1)  # a second message, so that the read is a batch
    root = tmp_path / "mail"
    drop(root, [police_return(mid, n) for n, mid in enumerate(message_ids_of(one, [police_id, *other]))])
    button_recorded = threading.Event()

    def button() -> None:
        with two.transaction() as s:
            request = s.get(AgencyRequest, icb_id)
            assert request is not None
            ar.record_return(s, two, request, actor=bm, via="slack")  # locks the case row
            button_recorded.set()
            time.sleep(0.5)  # the batch reaches its check now and must wait for this commit

    report = TickReport()

    def batch() -> None:
        button_recorded.wait(10)
        poll_mailbox(one, MaildirGateway(root), report)

    run_together(button, batch)
    assert [r.classification for r in report.received] == ["agency-return", "agency-return"]
    with one.db.session() as s:
        assert get_case(s, ref).stage == Stage.PANEL_DECISION
        changes = [e for e in s.exec(select(Event).where(Event.kind == "stage_changed"))
                   if e.detail.get("to") == Stage.PANEL_DECISION.value]
    assert len([e for e in changes if e.case_id == case.id]) == 1
    for core in (one, two):
        core.db.engine.dispose()
