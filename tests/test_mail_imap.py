"""IMAP/SMTP gateway against a real local Dovecot (IMAP) and aiosmtpd (SMTP)."""

from __future__ import annotations

import asyncio
import email
import itertools
import json
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bot.mail.gateway import MailboxError, SendOutcomeUnknown, TransientMailboxError
from bot.mail.imap import ImapSmtpGateway
from tests.support.dovecot import DOVECOT, DovecotServer, dovecot_server, free_port

pytestmark = pytest.mark.skipif(DOVECOT is None, reason="dovecot missing: run scripts/test-deps.sh")

USERS = {f"user{i}": f"pw{i}" for i in range(40)}
_next_user = itertools.count()


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotServer]:
    with dovecot_server(USERS) as server:
        yield server


class Recorder:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.reply: str | None = None
        #: Seconds to wait before answering the end of the message (after taking it) or a RCPT.
        self.stall = 0.0
        self.rcpt_stall = 0.0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        await asyncio.sleep(self.rcpt_stall)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            return self.reply
        self.envelopes.append(envelope)
        await asyncio.sleep(self.stall)
        return "250 OK"


def _auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"bot", b"smtp-pw")
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Controller, Recorder]]:
    recorder = Recorder()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=_auth,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield controller, recorder
    finally:
        controller.stop()


@pytest.fixture
def fresh_dovecot() -> Iterator[DovecotServer]:
    """A server of its own for a test that fails a login: Dovecot then delays the next login from
    the same IP by seconds (its auth penalty), which would slow every later test."""
    with dovecot_server(USERS) as server:
        yield server


@pytest.fixture
def user(dovecot: DovecotServer) -> str:
    name = f"user{next(_next_user)}"
    dovecot.create_folder(name, "Processed")
    return name


def make_gateway(
    dovecot: DovecotServer,
    user: str,
    tmp_path: Path,
    smtp: tuple[Controller, Recorder] | None = None,
    **overrides: Any,
) -> ImapSmtpGateway:
    kwargs: dict[str, Any] = {
        "imap_host": dovecot.host,
        "imap_port": dovecot.port,
        "imap_security": "none",
        "imap_username": user,
        "imap_password": USERS[user],
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp[0].port if smtp else free_port(),
        "smtp_security": "none",
        "smtp_username": "bot",
        "smtp_password": "smtp-pw",
        "mail_from": "reviews@partnership.example",
        "state_path": tmp_path / "imap-state.json",
        "timeout": 5.0,
    }
    kwargs.update(overrides)
    return ImapSmtpGateway(**kwargs)


def raw_message(n: int) -> bytes:
    return (
        f"From: officer{n}@police.example\r\nTo: reviews@partnership.example\r\n"
        f"Subject: return {n}\r\nMessage-ID: <m{n}@police.example>\r\n\r\nbody {n}\r\n"
    ).encode()


def test_fetch_lists_oldest_first_without_changing_the_mailbox(
    dovecot: DovecotServer, user: str, tmp_path: Path
) -> None:
    for n in range(3):
        dovecot.deliver(user, raw_message(n))
    gw = make_gateway(dovecot, user, tmp_path)
    items = list(gw.fetch_new())
    assert [i.raw for i in items] == [raw_message(n) for n in range(3)]
    assert [i.raw for i in gw.fetch_new()] == [raw_message(n) for n in range(3)]
    c = dovecot.client(user)
    c.select("INBOX", readonly=True)
    assert c.uid("SEARCH", "UNSEEN")[1][0].split().__len__() == 3  # listing set no \Seen
    c.logout()


def test_mark_processed_moves_and_is_idempotent(
    dovecot: DovecotServer, user: str, tmp_path: Path
) -> None:
    for n in range(3):
        dovecot.deliver(user, raw_message(n))
    gw = make_gateway(dovecot, user, tmp_path)
    first, second, third = list(gw.fetch_new())
    gw.mark_processed(second.item_id)
    gw.mark_processed(second.item_id)
    assert [i.raw for i in gw.fetch_new()] == [first.raw, third.raw]
    assert dovecot.count(user, "INBOX") == 2
    assert dovecot.count(user, "Processed") == 1


def test_restart_reads_nothing_twice_and_misses_nothing(
    dovecot: DovecotServer, user: str, tmp_path: Path
) -> None:
    for n in range(2):
        dovecot.deliver(user, raw_message(n))
    gw = make_gateway(dovecot, user, tmp_path, processed_folder="")  # flag only, stays in INBOX
    a, b = list(gw.fetch_new())
    gw.mark_processed(a.item_id)
    dovecot.deliver(user, raw_message(2))
    restarted = make_gateway(dovecot, user, tmp_path, processed_folder="")
    assert [i.raw for i in restarted.fetch_new()] == [b.raw, raw_message(2)]
    for item in list(restarted.fetch_new()):
        restarted.mark_processed(item.item_id)
    assert list(restarted.fetch_new()) == []
    state = json.loads((tmp_path / "imap-state.json").read_text())
    assert state["last_uid"] == 3
    assert state["processed"] == []


def test_a_person_reading_the_mailbox_does_not_hide_a_message(
    dovecot: DovecotServer, user: str, tmp_path: Path
) -> None:
    dovecot.deliver(user, raw_message(0))
    c = dovecot.client(user)
    c.select("INBOX")
    c.store("1", "+FLAGS", r"(\Seen)")
    c.logout()
    gw = make_gateway(dovecot, user, tmp_path)
    assert [i.raw for i in gw.fetch_new()] == [raw_message(0)]


def test_uidvalidity_change_starts_again(
    dovecot: DovecotServer, user: str, tmp_path: Path
) -> None:
    dovecot.deliver(user, raw_message(0))
    (tmp_path / "imap-state.json").write_text(
        json.dumps({"uidvalidity": 1, "last_uid": 99, "processed": []})
    )
    gw = make_gateway(dovecot, user, tmp_path)
    items = list(gw.fetch_new())
    assert [i.raw for i in items] == [raw_message(0)]
    gw.mark_processed("1:1")  # an id from the old UIDVALIDITY is ignored, not an error
    assert dovecot.count(user, "INBOX") == 1


def test_missing_processed_folder(dovecot: DovecotServer, user: str, tmp_path: Path) -> None:
    dovecot.deliver(user, raw_message(0))
    gw = make_gateway(dovecot, user, tmp_path, processed_folder="Nope")
    (item,) = gw.fetch_new()
    with pytest.raises(MailboxError, match="processed folder 'Nope' not found"):
        gw.mark_processed(item.item_id)
    assert [i.raw for i in gw.fetch_new()] == [raw_message(0)]


def test_bad_credentials_and_unreachable(fresh_dovecot: DovecotServer, tmp_path: Path) -> None:
    dovecot, user = fresh_dovecot, "user0"
    gw = make_gateway(dovecot, user, tmp_path, imap_password="wrong")
    with pytest.raises(MailboxError, match="credentials rejected") as info:
        list(gw.fetch_new())
    assert not isinstance(info.value, TransientMailboxError)
    gw = make_gateway(dovecot, user, tmp_path, imap_port=free_port())
    with pytest.raises(TransientMailboxError, match="unreachable"):
        list(gw.fetch_new())


def build_outbound(with_attachment: bool = True) -> EmailMessage:
    m = EmailMessage()
    m["From"] = "reviews@partnership.example"
    m["To"] = "officer@police.example"
    m["Subject"] = "[SAFE-2026-0042] Please return the chronology"
    m["Message-ID"] = "<chase-42.1@partnership.example>"
    m["In-Reply-To"] = "<m1@police.example>"
    m["References"] = "<start-42@partnership.example> <m1@police.example>"
    m.set_content("Please return the chronology.")
    if with_attachment:
        m.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf", filename="f.pdf")
    return m


def test_send_keeps_threading_headers(
    dovecot: DovecotServer,
    user: str,
    tmp_path: Path,
    smtp: tuple[Controller, Recorder],
) -> None:
    _, recorder = smtp
    recorder.envelopes.clear()
    gw = make_gateway(dovecot, user, tmp_path, smtp)
    assert gw.send(build_outbound()) == "<chase-42.1@partnership.example>"
    (env,) = recorder.envelopes
    assert env.mail_from == "reviews@partnership.example"
    assert env.rcpt_tos == ["officer@police.example"]
    got = email.message_from_bytes(env.original_content, policy=default)
    assert got["Message-ID"] == "<chase-42.1@partnership.example>"
    assert got["In-Reply-To"] == "<m1@police.example>"
    assert got["References"] == "<start-42@partnership.example> <m1@police.example>"
    (att,) = got.iter_attachments()
    assert att.get_content() == b"%PDF-1.4 test"


def test_send_adds_a_message_id_when_missing(
    dovecot: DovecotServer, user: str, tmp_path: Path, smtp: tuple[Controller, Recorder]
) -> None:
    _, recorder = smtp
    recorder.envelopes.clear()
    m = build_outbound(with_attachment=False)
    del m["Message-ID"]
    mid = make_gateway(dovecot, user, tmp_path, smtp).send(m)
    assert mid.endswith("@partnership.example>")
    got = email.message_from_bytes(recorder.envelopes[0].original_content, policy=default)
    assert got["Message-ID"] == mid


def test_send_failures(
    dovecot: DovecotServer, user: str, tmp_path: Path, smtp: tuple[Controller, Recorder]
) -> None:
    _, recorder = smtp
    gw = make_gateway(dovecot, user, tmp_path, smtp, smtp_password="wrong")
    with pytest.raises(MailboxError, match="SMTP rejected the credentials"):
        gw.send(build_outbound())
    gw = make_gateway(dovecot, user, tmp_path, smtp)
    recorder.reply = "451 try again later"
    try:
        with pytest.raises(TransientMailboxError, match="451"):
            gw.send(build_outbound())
    finally:
        recorder.reply = None
    gw = make_gateway(dovecot, user, tmp_path, smtp_port=free_port())
    with pytest.raises(TransientMailboxError, match="unreachable"):
        gw.send(build_outbound())


def test_check(
    dovecot: DovecotServer, user: str, tmp_path: Path, smtp: tuple[Controller, Recorder]
) -> None:
    _, recorder = smtp
    recorder.envelopes.clear()
    assert make_gateway(dovecot, user, tmp_path, smtp).check() == []
    assert recorder.envelopes == []  # a dry run
    problems = make_gateway(
        dovecot, user, tmp_path, smtp, processed_folder="Nope", folder="Missing"
    ).check()
    assert problems == ["IMAP: IMAP folder 'Missing' not found or not selectable"]
    problems = make_gateway(dovecot, user, tmp_path, smtp, processed_folder="Nope").check()
    assert problems == ["IMAP: processed folder 'Nope' not found"]
    problems = make_gateway(
        dovecot, user, tmp_path, imap_port=free_port(), smtp_port=free_port()
    ).check()
    assert [p.split(":")[0] for p in problems] == ["IMAP", "SMTP"]
    assert all("unreachable" in p for p in problems)


def test_check_bad_credentials(
    fresh_dovecot: DovecotServer, tmp_path: Path, smtp: tuple[Controller, Recorder]
) -> None:
    problems = make_gateway(
        fresh_dovecot, "user0", tmp_path, smtp, imap_password="wrong", smtp_password="wrong"
    ).check()
    assert len(problems) == 2
    assert problems[0].startswith("IMAP: IMAP login: credentials rejected")
    assert problems[1].startswith("SMTP: SMTP rejected the credentials")


# --- a send whose answer was lost; the sent folder (decision 0013) --------------------------------


def test_was_sent_searches_the_sent_folder_by_message_id(
    dovecot: DovecotServer, user: str, tmp_path: Path
) -> None:
    odd = '<"odd \\"id"@partnership.example>'  # a quoted local part: quotes and a backslash
    dovecot.create_folder(user, "Sent")
    for mid in ("<chase-42.1@partnership.example>", odd):
        dovecot.deliver(user, f"From: reviews@partnership.example\r\nMessage-ID: {mid}\r\n\r\nx\r\n".encode(),
                        folder="Sent")
    dovecot.deliver(user, raw_message(7))  # in the inbox: not a sent copy
    gw = make_gateway(dovecot, user, tmp_path, sent_folder="Sent")
    assert gw.was_sent("<chase-42.1@partnership.example>") is True
    assert gw.was_sent(odd) is True
    assert gw.was_sent("<chase-42.2@partnership.example>") is False
    assert gw.was_sent("<m7@police.example>") is False
    assert gw.sent_copy_lag > timedelta(0)

    without = make_gateway(dovecot, user, tmp_path)
    assert without.was_sent("<chase-42.1@partnership.example>") is None  # it cannot tell
    assert without.sent_copy_lag == timedelta(0)  # so waiting would learn nothing

    missing = make_gateway(dovecot, user, tmp_path, sent_folder="Nope")
    with pytest.raises(MailboxError, match="IMAP sent folder 'Nope' not found"):
        missing.was_sent("<chase-42.1@partnership.example>")
    assert [p for p in missing.check() if p.startswith("IMAP")] == ["IMAP: sent folder 'Nope' not found"]


def test_an_smtp_answer_lost_after_the_message_went_is_an_unknown_outcome(
    dovecot: DovecotServer, user: str, tmp_path: Path, smtp: tuple[Controller, Recorder]
) -> None:
    _, recorder = smtp
    recorder.envelopes.clear()
    gw = make_gateway(dovecot, user, tmp_path, smtp, timeout=0.5)
    recorder.stall = 1.0  # the server took the message; its 250 comes after the client gave up
    try:
        with pytest.raises(SendOutcomeUnknown, match="SMTP send: no answer after the message went"):
            gw.send(build_outbound())
    finally:
        recorder.stall = 0.0
    assert len(recorder.envelopes) == 1


def test_an_smtp_failure_before_the_message_went_is_not_unknown(
    dovecot: DovecotServer, user: str, tmp_path: Path, smtp: tuple[Controller, Recorder]
) -> None:
    _, recorder = smtp
    recorder.envelopes.clear()
    gw = make_gateway(dovecot, user, tmp_path, smtp, timeout=0.5)
    recorder.rcpt_stall = 1.0  # no answer to RCPT TO: the message was never written
    try:
        with pytest.raises(TransientMailboxError) as info:
            gw.send(build_outbound())
    finally:
        recorder.rcpt_stall = 0.0
    assert not isinstance(info.value, SendOutcomeUnknown)
    recorder.reply = "451 try again later"  # refused at the end of data: not taken
    try:
        with pytest.raises(TransientMailboxError, match="451") as info:
            gw.send(build_outbound())
    finally:
        recorder.reply = None
    assert not isinstance(info.value, SendOutcomeUnknown)
    assert recorder.envelopes == []
