"""The chronology in the core: a canary name in a return never reaches a log line, an audit
event, what chat renders (the case view) or the outbox; reading is claimed once and a reader
that died is taken over; outbound attachments keep the idempotency key; template files are
named in the protocol relative to it."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot import chronology
from bot.agency_requests import send_requests
from bot.cases import decide, get_case
from bot.chronology import read_pending
from bot.core import Core
from bot.errors import ServiceError
from bot.mail.maildir import MaildirGateway
from bot.mailer import OutboundFile, Rendered
from bot.models import ChatPost, Event, OutboxMessage
from bot.models_chronology import ChronologyEvent, ChronologyReturn
from bot.models_outbox import OutboxAttachment
from bot.outbox import deliver, enqueue
from bot.protocol import ProtocolError, load_protocol
from bot.views import case_view
from schedules.sweep import tick
from tests.conftest import notified_case
from tests.support.chronology_files import HEADINGS, docx, return_email, xlsx

CANARY = "Ottoline Quarrington"
BM = "business.manager@partnership.example"


def _lcspr_with_request(core: Core, maildir: MaildirGateway) -> tuple[str, str]:
    ref = notified_case(core)
    with core.transaction() as s:
        case = get_case(s, ref)
        decide(s, core, case, option="lcspr", rationale="", actor=BM)
        send_requests(s, core, case, kind="chronology", agencies=["police"], actor=BM)
    tick(core, maildir)
    with core.db.session() as s:
        message_id = s.exec(select(OutboxMessage.message_id)
                            .where(OutboxMessage.kind == "chronology_request")).one()
    return ref, message_id


def _drop(maildir: MaildirGateway, tmp_path: Path, raw: bytes, name: str) -> None:
    new = tmp_path / "mail" / "inbox" / "new"
    new.mkdir(parents=True, exist_ok=True)
    (new / name).write_bytes(raw)


def test_a_canary_in_a_return_never_leaves_the_database(
    core: Core, maildir: MaildirGateway, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ref, request_id = _lcspr_with_request(core, maildir)
    bad = docx([[HEADINGS, [CANARY, "", "GP", f"{CANARY} seen at home", ""],
                 ["01/01/2019", "", CANARY, "visit", ""]]])
    _drop(maildir, tmp_path, return_email(from_addr="reviews@police.example", ref=ref, in_reply_to=request_id,
                                          files=[(f"{CANARY}.docx", bad)]), "1.eml")
    tick(core, maildir)
    good = xlsx({CANARY: [HEADINGS, ["01/01/2019", "", "GP", f"{CANARY} seen", ""]]})
    _drop(maildir, tmp_path, return_email(from_addr="reviews@police.example", ref=ref, in_reply_to=request_id,
                                          files=[("police.xlsx", good)]), "2.eml")
    tick(core, maildir)

    with core.db.session() as s:
        case = get_case(s, ref)
        assert [r.status for r in s.exec(select(ChronologyReturn).order_by(ChronologyReturn.id))] == [
            "invalid", "valid"]
        assert [e.event for e in s.exec(select(ChronologyEvent))] == [f"{CANARY} seen"]  # kept here only
        view = json.dumps(case_view(s, core, case), default=str)
        events = json.dumps([e.detail for e in s.exec(select(Event))])
        mails = [(m.subject, m.body_text, m.body_html) for m in s.exec(select(OutboxMessage))]
        posts = list(s.exec(select(ChatPost)))
    logged = [r.getMessage() for r in caplog.records]
    assert any("chronology return id=" in line for line in logged)
    for text in (view, events, json.dumps(mails), *logged, json.dumps([p.model_dump() for p in posts],
                                                                        default=str)):
        assert CANARY.split()[1] not in text
    # The reply names places (file, table, row) and columns, never what a cell or a name says.
    (reply,) = [m for m in mails if "to correct" in m[0]]
    assert "row 2, Date" in reply[1] and "row 3" not in reply[1]


def test_a_reader_that_died_is_taken_over_and_a_file_that_kills_it_is_given_up(
    core: Core, maildir: MaildirGateway, tmp_path: Path,
) -> None:
    ref, request_id = _lcspr_with_request(core, maildir)
    good = xlsx({"S": [HEADINGS, ["01/01/2019", "", "GP", "seen", ""]]})
    _drop(maildir, tmp_path, return_email(from_addr="reviews@police.example", ref=ref, in_reply_to=request_id,
                                          files=[("police.xlsx", good)]), "1.eml")
    tick(core, maildir)
    with core.db.transaction() as s:  # as if the reader had died mid-read
        s.execute(update(ChronologyReturn).values(status="reading", claimed_by="dead:1:x",
                                                  claimed_at=core.clock.now(), read_at=None))
    assert read_pending(core) == 0  # its claim still holds
    core.clock.advance(chronology.READ_LEASE + timedelta(seconds=1))  # type: ignore[attr-defined]
    assert read_pending(core) == 1
    with core.db.transaction() as s:
        row = s.exec(select(ChronologyReturn)).one()
        assert row.status == "valid" and row.attempts == 2
        row.status, row.attempts = "pending", chronology.MAX_ATTEMPTS
    assert read_pending(core) == 1
    with core.db.session() as s:
        row = s.exec(select(ChronologyReturn)).one()
        assert row.status == "invalid" and "could not be read automatically" in row.problems[0]["problem"]
        assert not list(s.exec(select(ChronologyEvent)))  # its earlier rows went with it


def test_attachments_go_with_the_message_once(core: Core, maildir: MaildirGateway) -> None:
    files = [OutboundFile("a.txt", "text/plain", b"first"), OutboundFile("b.bin", "application/x-x", b"\0\1")]
    rendered = Rendered("Subject", "text", "<p>html</p>")
    with core.transaction() as s:
        assert enqueue(s, core, key="k:1", kind="test", to=["x@agency.example"], rendered=rendered,
                       attachments=files) is not None
    with core.transaction() as s:  # the same key again: nothing new, no second set of files
        assert enqueue(s, core, key="k:1", kind="test", to=["x@agency.example"], rendered=rendered,
                       attachments=files) is None
    with core.db.session() as s:
        assert len(list(s.exec(select(OutboxAttachment)))) == 2
    assert deliver(core, maildir).sent == 1
    (path,) = [p for sub in ("new", "cur") for p in (maildir.root / "sent" / sub).iterdir()]
    import email
    from email import policy
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    got = [(a.get_filename(), a.get_content_type(), a.get_content()) for a in message.iter_attachments()]
    assert got == [("a.txt", "text/plain", "first"), ("b.bin", "application/x-x", b"\0\1")]


def test_protocol_templates_are_relative_to_the_file(tmp_path: Path, core: Core) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "igt.docx").write_bytes(docx([[["Question", "Answer"]]]))
    (tmp_path / "docs" / "guidance.txt").write_text("How to fill in the chronology")
    protocol_file = tmp_path / "protocol.toml"
    protocol_file.write_text('[templates]\ninformation_gathering = "docs/igt.docx"\n'
                             'guidance = ["docs/guidance.txt"]\n'
                             'chronology_mandatory = ["source", "outcome"]\n')
    protocol = load_protocol(protocol_file)
    assert [p.name for p in protocol.templates.files_for("info-gathering")] == ["igt.docx"]
    assert [p.name for p in protocol.templates.files_for("chronology")] == [
        "chronology.xlsx", "chronology.docx", "guidance.txt"]
    assert protocol.templates.chronology_mandatory == ["date", "source", "outcome"]
    protocol_file.write_text('[templates]\nchronology = "docs/missing.xlsx"\n')
    with pytest.raises(ProtocolError, match=r"templates.*file not found.*missing\.xlsx"):
        load_protocol(protocol_file)
    protocol_file.write_text('[templates]\nchronology_mandatory = ["colour"]\n')
    with pytest.raises(ProtocolError, match="unknown column 'colour'"):
        load_protocol(protocol_file)


def test_an_unreadable_template_refuses_the_request(core: Core, tmp_path: Path) -> None:
    ref = notified_case(core)
    gone = [str(tmp_path / "gone.docx")]
    broken = core.protocol.templates.model_copy(update={"information_gathering": gone})
    core.protocol = core.protocol.model_copy(update={"templates": broken})
    with pytest.raises(ServiceError, match=r"template .*gone\.docx cannot be read"), core.transaction() as s:
        send_requests(s, core, get_case(s, ref), kind="info-gathering", agencies=["police"], actor=BM)
