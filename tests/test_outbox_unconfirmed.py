"""No second copy after a send whose outcome is unknown, on Graph, EWS and IMAP/SMTP (decision 0013).

The real outbox and the real gateways, against the Graph and EWS fakes at the HTTP level and a real
Dovecot with an aiosmtpd server that files what it takes in the Sent folder (as Exchange Online
does for SMTP submission). For each gateway:

* the server took the message and its answer was lost (a read timeout): recorded as sent once its
  copy is found in Sent Items, never sent a second time;
* the answer was lost and the server had not taken it: sent, once, after the mailbox has had the
  time to file a copy (``sent_copy_lag``);
* the sending instance was killed between the send and "mark sent" (its lease runs out, or the
  bot restarts on SQLite): found, recorded, not sent again; killed before the send: sent once.

A sender killed mid-send is reproduced as the rows a kill leaves (claimed, leased, not marked),
as in tests/pg/test_outbox_claims.py; for Graph the kill also happens inside a real delivery.
"""

from __future__ import annotations

import asyncio
import email
import itertools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.policy import default
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import responses
from aiosmtpd.controller import Controller

from bot.cli_common import tick_line
from bot.clock import FixedClock
from bot.core import Core
from bot.mail.ews import EwsMailGateway
from bot.mail.gateway import MailGateway
from bot.mail.graph import SENT_COPY_LAG, GraphMailGateway
from bot.mail.imap import ImapSmtpGateway
from bot.mailer import Rendered, compose
from bot.models import OutboxMessage
from bot.outbox import SEND_LEASE, deliver, enqueue, release_dead_claims
from schedules.sweep import tick
from tests.support import fake_ews, fake_graph
from tests.support.dovecot import DOVECOT, DovecotServer, dovecot_server, free_port

#: Under this the gateways' timeout; the stalled SMTP server answers after it.
TIMEOUT, STALL = 1.0, 2.0
_users = itertools.count()


@dataclass
class World:
    """A gateway and the server behind it."""

    gateway: MailGateway
    #: Message-IDs the server took, in order.
    taken: Callable[[], list[str]]
    #: The next send loses its answer, after the server took the message or without it.
    lose_next_answer: Callable[[bool], None]


def _ids(raws: list[bytes]) -> list[str]:
    return [str(email.message_from_bytes(r, policy=default)["Message-ID"]) for r in raws]


@contextmanager
def graph_world(tmp_path: Path, server: fake_graph.FakeGraph | None = None) -> Iterator[World]:
    fake = server or fake_graph.FakeGraph()
    gateway = GraphMailGateway(
        mailbox=fake_graph.MAILBOX, token_provider=lambda: fake_graph.TOKEN,
        state_path=tmp_path / "graph.json", base_url=fake_graph.BASE,
        client=httpx.Client(transport=fake.transport()), sleep=lambda _: None,
    )

    def lose(taken: bool) -> None:
        fake.lose_answer("/sendMail", exception=httpx.ReadTimeout("timed out"), carried_out=taken)

    yield World(gateway, lambda: [str(m["Message-ID"]) for m in fake.sent], lose)


@contextmanager
def ews_world(tmp_path: Path) -> Iterator[World]:
    fake = fake_ews.FakeEws()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        gateway = EwsMailGateway(
            service_endpoint=fake_ews.ENDPOINT, username=fake_ews.USERNAME, password=fake_ews.PASSWORD,
            mailbox=fake_ews.MAILBOX, auth_type="basic",
        )

        def lose(taken: bool) -> None:
            fake.lose_answer("CreateItem", exception=requests.exceptions.ReadTimeout("Read timed out."),
                             carried_out=taken)

        yield World(gateway, lambda: _ids(fake.sent), lose)


class FilingSmtpServer:
    """Takes a message and files it in the user's Sent folder; or, once, stalls past the client's
    timeout after taking it ("take") or before refusing it ("refuse")."""

    def __init__(self, dovecot: DovecotServer) -> None:
        self.dovecot = dovecot
        self.user = ""
        self.taken: list[bytes] = []
        self.next: str | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mode, self.next = self.next, None
        if mode == "refuse":
            await asyncio.sleep(STALL)
            return "451 4.3.0 try again later"
        self.taken.append(envelope.original_content)
        self.dovecot.deliver(self.user, envelope.original_content, folder="Sent")
        if mode == "take":
            await asyncio.sleep(STALL)
        return "250 2.0.0 OK"


Servers = tuple[DovecotServer, FilingSmtpServer, Controller]


@pytest.fixture(scope="module")
def mail_servers() -> Iterator[Servers | None]:
    if DOVECOT is None:
        yield None
        return
    with dovecot_server({f"u{i}": f"pw{i}" for i in range(20)}) as dovecot:
        handler = FilingSmtpServer(dovecot)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        try:
            yield dovecot, handler, controller
        finally:
            controller.stop()


@contextmanager
def imap_world(tmp_path: Path, servers: Servers | None, sent_folder: str = "Sent") -> Iterator[World]:
    if servers is None:
        pytest.skip("dovecot missing: run scripts/test-deps.sh")
    dovecot, handler, controller = servers
    user = f"u{next(_users)}"
    dovecot.create_folder(user, "Sent")
    handler.user, handler.taken, handler.next = user, [], None
    gateway = ImapSmtpGateway(
        imap_host=dovecot.host, imap_port=dovecot.port, imap_security="none", imap_username=user,
        imap_password=dovecot.users[user], smtp_host="127.0.0.1", smtp_port=controller.port,
        smtp_security="none", mail_from="reviews@partnership.example",
        state_path=tmp_path / "imap.json", timeout=TIMEOUT, sent_folder=sent_folder,
    )

    def lose(taken: bool) -> None:
        handler.next = "take" if taken else "refuse"

    yield World(gateway, lambda: _ids(handler.taken), lose)


@pytest.fixture(params=["graph", "ews", "imap"])
def world(
    request: pytest.FixtureRequest, tmp_path: Path,
    mail_servers: Servers | None,
) -> Iterator[World]:
    if request.param == "graph":
        with graph_world(tmp_path) as w:
            yield w
    elif request.param == "ews":
        with ews_world(tmp_path) as w:
            yield w
    else:
        with imap_world(tmp_path, mail_servers) as w:
            yield w


# --- helpers ----------------------------------------------------------------------------------------


def queued(core: Core) -> tuple[int, str]:
    with core.transaction() as s:
        row = enqueue(s, core, key="request:1:sent", kind="test", to=["officer@police.example"],
                      rendered=Rendered("[SI-2026-0001] Chronology request", "Please return it.", ""))
        assert row is not None and row.id is not None
        return row.id, row.message_id


def row(core: Core, row_id: int) -> OutboxMessage:
    with core.db.session() as s:
        found = s.get(OutboxMessage, row_id)
        assert found is not None
        return found


def killed_mid_send(core: Core, world: World, row_id: int, *, handed_over: bool) -> None:
    """What a kill -9 leaves: the row claimed and leased by an instance that never marked it,
    the message handed over to the mailbox or not."""
    at = core.clock.now()
    with core.transaction() as s:
        claimed = s.get(OutboxMessage, row_id)
        assert claimed is not None
        claimed.status, claimed.claimed_by, claimed.attempts = "sending", "host-a:1:killed", 1
        claimed.claimed_at, claimed.lease_until = at, at + SEND_LEASE
        message = compose(
            sender=core.mail_from, to=claimed.to, cc=claimed.cc, subject=claimed.subject,
            text=claimed.body_text, html=None, message_id=claimed.message_id, in_reply_to=None,
            references=None, date=at,
        )
    if handed_over:
        world.gateway.send(message)


# --- the three cases on each gateway ------------------------------------------------------------


def test_a_send_taken_but_unanswered_is_not_sent_twice(core: Core, clock: FixedClock, world: World) -> None:
    row_id, mid = queued(core)
    attempted = clock.now()
    world.lose_next_answer(True)
    report = deliver(core, world.gateway)
    assert (report.sent, report.failed, report.unconfirmed) == (0, 0, 1)
    waiting = row(core, row_id)
    assert waiting.status == "unconfirmed" and "no answer" in (waiting.last_error or "")
    assert world.taken() == [mid]

    clock.advance(timedelta(minutes=5))  # before its copy could be relied on: nothing happens
    assert deliver(core, world.gateway).unconfirmed == 0
    assert row(core, row_id).status == "unconfirmed"

    clock.advance(SENT_COPY_LAG)
    assert deliver(core, world.gateway).sent == 1
    done = row(core, row_id)
    assert (done.status, done.sent_at) == ("sent", attempted)  # when it went, not when found
    assert world.taken() == [mid]  # once
    assert deliver(core, world.gateway).sent == 0


def test_a_send_unanswered_and_not_taken_is_sent_once_the_copy_would_show(
    core: Core, clock: FixedClock, world: World
) -> None:
    row_id, mid = queued(core)
    world.lose_next_answer(False)
    assert deliver(core, world.gateway).unconfirmed == 1
    assert world.taken() == []
    clock.advance(SENT_COPY_LAG)
    assert deliver(core, world.gateway).sent == 1
    assert row(core, row_id).status == "sent"
    assert world.taken() == [mid]


@pytest.mark.parametrize("found_by", ["lease-expired", "restart"])
def test_a_sender_killed_between_send_and_mark_is_not_sent_twice(
    core: Core, clock: FixedClock, world: World, found_by: str
) -> None:
    row_id, mid = queued(core)
    attempted = clock.now()
    killed_mid_send(core, world, row_id, handed_over=True)
    clock.advance(timedelta(minutes=1))
    assert deliver(core, world.gateway, owner="host-b:2:x").sent == 0  # its lease still holds
    if found_by == "lease-expired":
        clock.advance(SEND_LEASE)  # another instance takes over once it runs out
    else:
        assert release_dead_claims(core) == 1  # SQLite, at start: the claim is over at once
    assert deliver(core, world.gateway, owner="host-b:2:x").sent == 1
    done = row(core, row_id)
    assert (done.status, done.sent_at) == ("sent", attempted)
    assert world.taken() == [mid]


def test_a_sender_killed_before_it_sent_is_sent_after_the_lag(
    core: Core, clock: FixedClock, world: World
) -> None:
    row_id, mid = queued(core)
    killed_mid_send(core, world, row_id, handed_over=False)
    assert release_dead_claims(core) == 1
    report = deliver(core, world.gateway)
    assert (report.sent, report.unconfirmed) == (0, 1)  # not found yet: the copy may be on its way
    assert row(core, row_id).status == "unconfirmed"
    clock.advance(SENT_COPY_LAG)
    assert deliver(core, world.gateway).sent == 1
    assert world.taken() == [mid]


# --- Graph: a copy filed late, a look that fails, a kill inside delivery ---------------------------


def test_a_copy_filed_late_is_found_before_any_resend(core: Core, clock: FixedClock, tmp_path: Path) -> None:
    fake = fake_graph.FakeGraph()
    fake.filing_delayed = True  # Exchange has not filed the copy yet
    with graph_world(tmp_path, fake) as w:
        row_id, mid = queued(core)
        killed_mid_send(core, w, row_id, handed_over=True)
        release_dead_claims(core)  # restarted at once
        assert deliver(core, w.gateway).unconfirmed == 1
        assert row(core, row_id).status == "unconfirmed" and w.taken() == [mid]
        clock.advance(timedelta(seconds=30))
        fake.file_sent_items()
        clock.advance(SENT_COPY_LAG)
        assert deliver(core, w.gateway).sent == 1
        assert w.taken() == [mid]


def test_a_look_that_fails_keeps_it_unconfirmed_and_sends_nothing(
    core: Core, clock: FixedClock, tmp_path: Path
) -> None:
    fake = fake_graph.FakeGraph()
    with graph_world(tmp_path, fake) as w:
        row_id, mid = queued(core)
        w.lose_next_answer(True)
        deliver(core, w.gateway)
        clock.advance(SENT_COPY_LAG)
        fake.forbidden = True  # the look is refused (403)
        report = deliver(core, w.gateway)
        assert (report.sent, report.unconfirmed) == (0, 1)
        waiting = row(core, row_id)
        assert waiting.status == "unconfirmed" and "find in sent items" in (waiting.last_error or "")
        fake.forbidden = False
        clock.advance(timedelta(hours=1))  # its backoff
        assert deliver(core, w.gateway).sent == 1
        assert w.taken() == [mid]


def test_a_kill_right_after_graph_took_the_message_leaves_it_to_be_found(
    core: Core, clock: FixedClock, tmp_path: Path
) -> None:
    fake = fake_graph.FakeGraph()
    with graph_world(tmp_path, fake) as w:
        row_id, mid = queued(core)
        fake.lose_answer("/sendMail", exception=KeyboardInterrupt())  # the process is stopped
        with pytest.raises(KeyboardInterrupt):
            deliver(core, w.gateway, owner="host-a:1:killed")
        assert row(core, row_id).status == "sending"
        release_dead_claims(core)
        assert deliver(core, w.gateway).sent == 1
        assert w.taken() == [mid]


def test_the_tick_summary_counts_a_message_that_may_have_gone(
    core: Core, clock: FixedClock, tmp_path: Path
) -> None:
    with graph_world(tmp_path) as w:
        queued(core)
        w.lose_next_answer(True)
        summary = tick(core, w.gateway).summary()
        assert (summary["sent"], summary["send_failures"], summary["sends_unconfirmed"]) == (0, 0, 1)
        line = tick_line(summary, clock.now())
        assert "1 may have gone (looked for in the mailbox's sent mail before any resend)" in line
        assert "failed to send" not in line


# --- IMAP/SMTP without a sent folder: it cannot tell ----------------------------------------------


def test_without_a_sent_folder_an_unanswered_send_is_sent_again(
    core: Core, clock: FixedClock, tmp_path: Path,
    mail_servers: Servers | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with imap_world(tmp_path, mail_servers, sent_folder="") as w:
        row_id, mid = queued(core)
        w.lose_next_answer(True)
        assert deliver(core, w.gateway).unconfirmed == 1
        clock.advance(timedelta(minutes=1))  # its backoff: there is nothing to wait for
        with caplog.at_level(logging.WARNING, logger="bot.outbox"):
            assert deliver(core, w.gateway).sent == 1
        assert w.taken() == [mid, mid]  # at least once, never lost: the documented limit
        assert any("cannot tell" in r.getMessage() for r in caplog.records)
        assert row(core, row_id).status == "sent"
