"""A mailbox read takes its messages in batches, several per transaction (issue 10; decision 0024):
nothing lost, nothing doubled. Real database (SQLite, and PostgreSQL in `make test`'s second run),
real Maildir; a crash is an exception raised by the mailbox at the first move after the commit."""

from __future__ import annotations

import logging
import os
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlmodel import select

from bot import agency_requests as ar
from bot import inbound_batch
from bot.cases import get_case
from bot.core import Core
from bot.mail.maildir import MaildirGateway
from bot.models import AgencyRequest, Event, InboundMessage
from bot.stages import Stage
from schedules.sweep import TickReport, poll_mailbox
from tests.conftest import notified_case
from tests.support.eml.build import load
from tests.support.hostile import REFERRAL_FORM, referral

BM = "bm@partnership.example"
DOMAINS = {"police": "police.example", "icb": "icb.example", "school": "school.example",
           "charity": "charity.example", "acute-trust": "hospital.example"}


@pytest.fixture
def case_ref(core: Core) -> str:
    """SI-2026-0001 with information gathering requests out to five agencies."""
    ref = notified_case(core)
    with core.transaction() as s:
        ar.send_requests(s, core, get_case(s, ref), kind="info-gathering", agencies=list(DOMAINS),
                         actor=BM)
    return ref


def request_ids(core: Core) -> dict[str, str]:
    with core.db.session() as s:
        return {r.agency: r.message_id or "" for r in s.exec(select(AgencyRequest))}


def reply(core: Core, agency: str, *, message_id: str | None = None, body: str = "Our return.") -> bytes:
    """An agency's return, threaded to the request the bot sent it."""
    msg = EmailMessage()
    msg["From"] = f"Reviews <reviews@{DOMAINS[agency]}>"
    msg["To"] = "reviews@partnership.example"
    msg["Subject"] = "RE: Information gathering request"
    msg["Date"] = "Thu, 19 Nov 2026 09:12:44 +0000"
    msg["Message-ID"] = message_id or f"<batch.{agency}@{DOMAINS[agency]}>"
    msg["In-Reply-To"] = msg["References"] = request_ids(core)[agency]
    msg.set_content(f"{body}\n\nReviews team\n")
    return msg.as_bytes()


def drop(maildir: MaildirGateway, *messages: bytes) -> list[Path]:
    """Into the inbox, read in this order (the Maildir reads oldest first)."""
    new = maildir.root / "inbox" / "new"
    new.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, raw in enumerate(messages):
        path = new / f"{1763500000 + i}.M{i:04d}P1.batch"
        path.write_bytes(raw)
        os.utime(path, (1763500000 + i, 1763500000 + i))
        paths.append(path)
    return paths


def commits(core: Core) -> list[int]:
    """A list that counts the database's commits from now on."""
    counted: list[int] = []
    event.listen(core.db.engine, "commit", lambda _conn: counted.append(1))
    return counted


def kinds(core: Core) -> Counter[str]:
    with core.db.session() as s:
        return Counter(e.kind for e in s.exec(select(Event)))


def inbound_rows(core: Core) -> list[InboundMessage]:
    with core.db.session() as s:
        return list(s.exec(select(InboundMessage).order_by(InboundMessage.id)))


def inbox(maildir: MaildirGateway) -> list[Path]:
    return [p for sub in ("new", "cur") for p in (maildir.root / "inbox" / sub).glob("*")]


def test_a_mailbox_read_records_and_acts_on_its_messages_in_one_transaction(
    core: Core, maildir: MaildirGateway, case_ref: str
) -> None:
    oof = load("out_of_office", request_message_id=request_ids(core)["police"], case_ref=case_ref)
    drop(maildir, *(reply(core, agency) for agency in DOMAINS), oof, load("unknown"))
    counted, report = commits(core), TickReport()
    poll_mailbox(core, maildir, report)
    assert [r.classification for r in report.received] == ["agency-return"] * 5 + ["auto-reply", "unknown"]
    assert len(counted) == 1  # seven messages, one commit
    assert inbox(maildir) == []
    events = kinds(core)
    assert events["return_received"] == 5 and events["auto_reply"] == 1
    assert events["stage_changed"] == 3  # accepted, notified, and all returns in: once
    with core.db.session() as s:
        assert get_case(s, case_ref).stage == Stage.PANEL_DECISION
    rows = inbound_rows(core)
    assert len(rows) == 7 and not [r for r in rows if r.classification == "pending"]
    assert [r.raw for r in rows[:5]] == [reply(core, agency) for agency in DOMAINS]  # bytes intact


def test_a_poison_message_in_the_middle_of_a_batch_holds_up_and_loses_nothing(
    core: Core, maildir: MaildirGateway, case_ref: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The referral cannot be stored (the reference it is numbered is taken): the batch rolls
    back, every message is then taken alone, the returns count once, the referral waits in
    triage and every item leaves the inbox."""
    with core.db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO \"case\" (ref, stage, created_at, updated_at, source, referrer, missing,"
            " agencies_involved, parallel_processes, terms) VALUES ('SI-2026-0002', 'referral',"
            " '2026-11-16 09:00:00', '2026-11-16 09:00:00', 'cli', 'x', '[]', '[]', '[]', '{}')"
        )
    poison = referral(REFERRAL_FORM, "poison.1@borough.example")
    drop(maildir, reply(core, "police"), reply(core, "icb"), poison, reply(core, "school"),
         reply(core, "charity"))
    report = TickReport()
    with caplog.at_level(logging.WARNING, logger="bot.inbound_batch"):
        poll_mailbox(core, maildir, report)
    assert "rolled back (IntegrityError)" in caplog.text
    assert [r.classification for r in report.received] == ["agency-return"] * 2 + ["unknown"] + [
        "agency-return"] * 2
    assert "IntegrityError" in (report.received[2].triage or "")
    assert report.intake_deferred is None and inbox(maildir) == []
    assert kinds(core)["return_received"] == 4
    rows = inbound_rows(core)
    assert len(rows) == 5 and len({r.message_id for r in rows}) == 5
    assert [r.triage_status for r in rows].count("open") == 1


class Crash(BaseException):
    """The process dies: nothing catches it."""


class CrashingMaildir(MaildirGateway):
    """A Maildir whose process dies when it first moves a message (after the batch's commit)."""

    def mark_processed(self, item_id: str) -> None:
        raise Crash(item_id)


def test_a_crash_after_the_commit_before_the_moves_doubles_nothing(
    core: Core, maildir: MaildirGateway, case_ref: str
) -> None:
    drop(maildir, *(reply(core, agency) for agency in DOMAINS))
    with pytest.raises(Crash):
        poll_mailbox(core, CrashingMaildir(maildir.root), TickReport())
    assert len(inbox(maildir)) == 5  # committed, never moved
    assert kinds(core)["return_received"] == 5

    report = TickReport()
    poll_mailbox(core, maildir, report)  # the restart reads them all again
    assert [r.classification for r in report.received] == ["duplicate"] * 5
    assert inbox(maildir) == []
    events = kinds(core)
    assert events["return_received"] == 5 and events["stage_changed"] == 3
    assert len(inbound_rows(core)) == 5


def test_the_same_message_twice_in_one_batch_is_acted_on_once(
    core: Core, maildir: MaildirGateway, case_ref: str
) -> None:
    school = request_ids(core)["school"]
    first = load("duplicate_a", request_message_id=school, case_ref=case_ref)
    relayed = load("duplicate_b", request_message_id=school, case_ref=case_ref)  # another MX
    police = reply(core, "police")
    forged = reply(core, "police", body="Different words under the same Message-ID.")
    drop(maildir, first, police, relayed, police, forged)
    report = TickReport()
    poll_mailbox(core, maildir, report)
    assert [r.classification for r in report.received] == [
        "agency-return", "agency-return", "duplicate", "duplicate", "unknown"]
    assert "reuses the Message-ID" in (report.received[4].triage or "")
    assert kinds(core)["return_received"] == 2 and inbox(maildir) == []
    assert len(inbound_rows(core)) == 3  # two returns and the forged one, under its own id


def test_a_large_read_is_taken_in_several_batches(
    core: Core, maildir: MaildirGateway, case_ref: str
) -> None:
    messages = [reply(core, "police", message_id=f"<batch.{i}@police.example>")
                for i in range(inbound_batch.MAX_MESSAGES + 5)]
    drop(maildir, *messages)
    counted, report = commits(core), TickReport()
    poll_mailbox(core, maildir, report)
    assert len(counted) == 2
    classes = Counter(r.classification for r in report.received)
    assert classes == {"agency-return": len(messages)}  # the first a return, the rest supplements
    events = kinds(core)
    assert events["return_received"] == 1 and events["return_supplement"] == len(messages) - 1
    assert inbox(maildir) == []


def test_batches_are_cut_by_count_and_by_bytes() -> None:
    sizes = [1, 1, 1, 1, 1, 10, 1, 1]
    cut = list(inbound_batch.batches(sizes, lambda n: n, max_messages=3, max_bytes=5))
    assert cut == [[1, 1, 1], [1, 1, 10], [1, 1]]


def test_a_mailbox_that_fails_mid_read_still_has_the_messages_before_it_taken() -> None:
    def listing() -> object:
        yield from (1, 2, 3)
        raise OSError("the mailbox went away")

    cut = inbound_batch.batches(listing(), lambda n: n, max_messages=2)  # type: ignore[arg-type]
    assert next(cut) == [1, 2]
    assert next(cut) == [3]
    with pytest.raises(OSError, match="went away"):
        next(cut)


def test_messages_that_open_cases_are_acted_on_first_unless_their_message_id_repeats() -> None:
    def arrival(message_id: str, opens: bool) -> inbound_batch.Arrival:
        return inbound_batch.Arrival(message_id, "t", "a@b.example", None, opens=opens)

    batch = [arrival("<1@x>", False), arrival("<2@x>", True), arrival("<3@x>", False),
             arrival("<4@x>", True), arrival("<2@x>", False), arrival("<5@x>", True)]
    # <2@x> is in the batch twice: it keeps its place, so its first copy is the one acted on.
    assert inbound_batch.acting_order(batch) == [3, 5, 0, 1, 2, 4]


def test_a_referral_in_the_middle_of_a_batch_opens_its_case_and_the_rest_still_count(
    core: Core, maildir: MaildirGateway, case_ref: str
) -> None:
    drop(maildir, reply(core, "police"), referral(REFERRAL_FORM, "middle.1@borough.example"),
         reply(core, "icb"))
    report = TickReport()
    poll_mailbox(core, maildir, report)
    assert [r.classification for r in report.received] == ["agency-return", "referral", "agency-return"]
    assert report.received[1].case == "SI-2026-0002"
    assert kinds(core)["return_received"] == 2 and inbox(maildir) == []
