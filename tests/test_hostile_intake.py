"""The hostile corpus (tests/support/hostile.py) through the real Maildir gateway and ``tick``:
each message is recorded once, taken out of the inbox, and ends as its entry says."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bot import agency_requests as ar
from bot.at_rest_files import read_attachment
from bot.cases import get_case
from bot.core import Core
from bot.mail.maildir import MaildirGateway
from bot.models import AgencyRequest, Attachment, Case, InboundMessage, OutboxMessage
from schedules.sweep import tick
from tests.conftest import notified_case
from tests.support.hostile import CORPUS, Hostile

BM = "bm@partnership.example"


@pytest.fixture
def case_ref(core: Core) -> str:
    ref = notified_case(core)
    with core.transaction() as s:
        ar.send_requests(s, core, get_case(s, ref), kind="info-gathering",
                         agencies=["police", "icb", "school"], actor=BM)
    return ref


def police_request_id(core: Core) -> str:
    with core.db.session() as s:
        req = s.exec(select(AgencyRequest).where(AgencyRequest.agency == "police")).one()
        assert req.message_id
        return req.message_id


def drop(maildir: MaildirGateway, raw: bytes, name: str) -> Path:
    new = maildir.root / "inbox" / "new"
    new.mkdir(parents=True, exist_ok=True)
    path = new / f"1700000000.{name}.host"
    path.write_bytes(raw)
    return path


def inbound_rows(core: Core) -> list[InboundMessage]:
    with core.db.session() as s:
        return list(s.exec(select(InboundMessage).order_by(InboundMessage.id)))


@pytest.mark.parametrize("entry", CORPUS, ids=[h.name for h in CORPUS])
def test_each_hostile_message_ends_as_it_should(
    core: Core, maildir: MaildirGateway, case_ref: str, entry: Hostile
) -> None:
    raw = entry.build(police_request_id(core), case_ref)
    before = len(inbound_rows(core))
    drop(maildir, raw, entry.name)

    report = tick(core, maildir)

    assert report.intake_deferred is None and report.mailbox_error is None
    assert [r.classification for r in report.received] == [entry.classification]
    assert not list((maildir.root / "inbox" / "new").iterdir())  # taken out of the inbox
    rows = inbound_rows(core)
    assert len(rows) == before + 1  # recorded exactly once
    row = rows[-1]
    assert row.raw == raw and row.digest  # the bytes as they came, whatever was read of them
    assert row.classification == entry.classification
    if entry.triage is None:
        assert row.triage_status is None, row.triage_reason
    else:
        assert row.triage_status == "open" and entry.triage in (row.triage_reason or "")
    with core.db.session() as s:
        stored = list(s.exec(select(Attachment).where(Attachment.inbound_id == row.id)
                             .order_by(Attachment.id)))
        case = s.get(Case, row.case_id) if row.case_id else None
        alerts = list(s.exec(select(OutboxMessage).where(OutboxMessage.kind == "referral_alert",
                                                          OutboxMessage.case_id == row.case_id)))
    if entry.attachments is not None:
        assert [(a.content_type, a.role) for a in stored] == entry.attachments
        for a in stored:
            assert a.stored_name and len(read_attachment(core, a.stored_name)) == a.size  # stored sealed
    if entry.classification == "referral":
        assert case is not None and case.ref != case_ref
        assert len(alerts) == 1  # the business unit is told, whatever could not be read


def test_an_s_mime_return_stores_the_document_and_marks_the_signature(
    core: Core, maildir: MaildirGateway, case_ref: str
) -> None:
    (entry,) = [h for h in CORPUS if h.name == "signed-return"]
    drop(maildir, entry.build(police_request_id(core), case_ref), "signed")
    tick(core, maildir)
    with core.db.session() as s:
        req = s.exec(select(AgencyRequest).where(AgencyRequest.agency == "police")).one()
        names = {a.display_name: a.role for a in s.exec(select(Attachment))}
    assert req.status == "returned"
    assert names == {"return.docx": None, "smime.p7s": "signature"}


def test_bidi_controls_and_zero_width_marks_are_stripped_from_file_names(
    core: Core, maildir: MaildirGateway, case_ref: str
) -> None:
    (entry,) = [h for h in CORPUS if h.name == "bidi-file-names"]
    drop(maildir, entry.build(police_request_id(core), case_ref), "bidi")
    tick(core, maildir)
    with core.db.session() as s:
        names = sorted(a.display_name for a in s.exec(select(Attachment)))
    assert names == ["chronology.pdf", "reportfdp.exe"]


def test_an_unreadable_date_is_noted_and_the_case_still_opens(
    core: Core, maildir: MaildirGateway, case_ref: str
) -> None:
    (entry,) = [h for h in CORPUS if h.name == "bad-date-feb31"]
    drop(maildir, entry.build(police_request_id(core), case_ref), "baddate")
    report = tick(core, maildir)
    with core.db.session() as s:
        case = get_case(s, report.received[0].case or "")
    assert case.incident_date is None
    assert "date of incident (could not be read as a past date)" in case.missing
    assert case.outcome == "death"  # the other fields are read as usual


def test_a_reused_message_id_with_other_content_is_its_own_triage_item(
    core: Core, maildir: MaildirGateway, case_ref: str
) -> None:
    (entry,) = [h for h in CORPUS if h.name == "signed-return"]
    first = entry.build(police_request_id(core), case_ref)
    forged = first.replace(b"Our return is attached.", b"Our return is attached!")
    drop(maildir, first, "first")
    tick(core, maildir)
    drop(maildir, forged, "forged")
    drop(maildir, forged, "forged-again")  # the same forged bytes twice: one item, not two
    report = tick(core, maildir)
    assert sorted(r.classification for r in report.received) == ["duplicate", "unknown"]
    rows = inbound_rows(core)
    assert len(rows) == 2 and rows[1].raw == forged
    assert rows[1].triage_status == "open"
    assert f"reuses the Message-ID of inbound message {rows[0].id}" in (rows[1].triage_reason or "")
    assert rows[1].message_id.startswith("<reused-")


def test_the_same_message_through_a_second_relay_is_still_a_duplicate(
    core: Core, maildir: MaildirGateway, case_ref: str
) -> None:
    (entry,) = [h for h in CORPUS if h.name == "forwarded-return"]
    raw = entry.build(police_request_id(core), case_ref)
    relayed = (b"Received: from mx2.partnership.example\n\tby mx.partnership.example\n"
               b"Authentication-Results: mx.partnership.example; dmarc=pass\n" + raw)
    drop(maildir, raw, "one")
    drop(maildir, relayed, "two")
    report = tick(core, maildir)
    assert sorted(r.classification for r in report.received) == ["agency-return", "duplicate"]
    assert len(inbound_rows(core)) == 1
