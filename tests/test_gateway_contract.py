"""The contract every mail gateway keeps (see :mod:`bot.mail.gateway`).

Each gateway kind is one entry in :data:`GATEWAY_FACTORIES`. A factory is a context manager
that takes ``tmp_path`` and yields a :class:`GatewayEnv`: the gateway under test plus two hooks
the contract needs but the gateway interface does not offer, "a message arrives in the inbox"
(``deliver``) and "what went out" (``sent``). The Graph, EWS and IMAP gateways join the suite
by adding a factory (with whatever fake server they need) to the list; every test below then
runs against them too.

``deliver`` must make arrival order observable: a message delivered later is newer than every
message delivered before it (the Maildir factory sets file mtimes a second apart).

What the contract leaves to the Maildir implementation is tested in tests/test_mail_maildir.py.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from bot.mail.gateway import InboundItem, MailGateway
from bot.mail.maildir import MaildirGateway

# --- the gateways under test -------------------------------------------------------------


@dataclass
class GatewayEnv:
    gateway: MailGateway
    #: Put raw RFC 5322 bytes into the gateway's inbox, as the mail server would.
    deliver: Callable[[bytes], None]
    #: The raw bytes of every message the gateway sent (order not significant).
    sent: Callable[[], list[bytes]]


GatewayFactory = Callable[[Path], AbstractContextManager[GatewayEnv]]

#: Fixed "now" for gateways that stamp a Date header.
NOW = datetime(2026, 11, 18, 10, 2, 6, tzinfo=UTC)


@contextmanager
def maildir_env(tmp_path: Path) -> Iterator[GatewayEnv]:
    root = tmp_path / "mail"
    gateway = MaildirGateway(root, now=lambda: NOW)
    # A second apart, so arrival order never depends on the file system's mtime resolution.
    clock = {"next": 1_790_000_000}

    def deliver(raw: bytes) -> None:
        new = root / "inbox" / "new"
        new.mkdir(parents=True, exist_ok=True)
        path = new / f"{uuid.uuid4().hex}.test"
        path.write_bytes(raw)
        os.utime(path, (clock["next"], clock["next"]))
        clock["next"] += 1

    def sent() -> list[bytes]:
        files = [p for sub in ("new", "cur") for p in (root / "sent" / sub).glob("*")]
        files.sort(key=lambda p: (p.stat().st_mtime_ns, p.name))
        return [p.read_bytes() for p in files]

    yield GatewayEnv(gateway=gateway, deliver=deliver, sent=sent)


#: One entry per gateway kind: pytest.param(<GatewayFactory>, id="<kind>").
GATEWAY_FACTORIES = [
    pytest.param(maildir_env, id="maildir"),
]


@pytest.fixture(params=GATEWAY_FACTORIES)
def gateway_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GatewayEnv]:
    with request.param(tmp_path) as env:
        yield env


@pytest.fixture
def gateway(gateway_env: GatewayEnv) -> MailGateway:
    return gateway_env.gateway


def deliver(gateway_env: GatewayEnv, raw: bytes) -> None:
    """Put a raw message into the gateway's inbox."""
    gateway_env.deliver(raw)


# --- messages ----------------------------------------------------------------------------


def inbound(n: int, *, body: str = "Return attached.\n") -> bytes:
    return (
        "From: Reviews <reviews@police.example>\n"
        "To: reviews@partnership.example\n"
        f"Subject: [SI-2026-0001] Information gathering return {n}\n"
        "Date: Thu, 19 Nov 2026 09:12:44 +0000\n"
        f"Message-ID: <contract-{n}.{uuid.uuid4().hex}@police.example>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
        f"{body}"
    ).encode("ascii")


LATIN1 = (
    b"From: Designated Safeguarding Lead <safeguarding@school.example>\r\n"
    b"To: reviews@partnership.example\r\n"
    b"Subject: =?iso-8859-1?q?[SI-2026-0001]_Caf=E9_return?=\r\n"
    b"Date: Thu, 19 Nov 2026 10:41:27 +0000\r\n"
    b"Message-ID: <latin1-contract@school.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"The caf\xe9 breakfast club charge of \xa32.50 was waived.\r\n"
)

ATTACHMENT = b"%PDF-1.4\n" + bytes(range(256)) * 2


def outbound(*, with_id: bool = True) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Safeguarding Reviews <reviews@partnership.example>"
    msg["To"] = "reviews@police.example"
    msg["Subject"] = "[SI-2026-0001] Information gathering request (return within 48 hours)"
    if with_id:
        msg["Message-ID"] = "<request.SI-2026-0001.police@partnership.example>"
    msg["In-Reply-To"] = "<referral.20261117164812.7c1e@borough.example>"
    msg["References"] = (
        "<referral.20261117164812.7c1e@borough.example> <ack.SI-2026-0001@partnership.example>"
    )
    msg.set_content("Please complete the attached Information Gathering Tool.\n")
    msg.add_attachment(
        ATTACHMENT, maintype="application", subtype="pdf", filename="igt-template.pdf"
    )
    return msg


def fetched(gateway: MailGateway) -> list[InboundItem]:
    return list(gateway.fetch_new())


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


# --- the contract ------------------------------------------------------------------------


def test_empty_inbox_fetches_nothing(gateway: MailGateway) -> None:
    assert fetched(gateway) == []


def test_gateway_has_a_name(gateway: MailGateway) -> None:
    assert isinstance(gateway.name, str) and gateway.name


def test_delivered_message_is_fetched_byte_identical(
    gateway_env: GatewayEnv, gateway: MailGateway
) -> None:
    raw = inbound(1)
    deliver(gateway_env, raw)
    items = fetched(gateway)
    assert len(items) == 1
    assert items[0].raw == raw
    assert isinstance(items[0].item_id, str) and items[0].item_id


def test_crlf_message_is_fetched_byte_identical(
    gateway_env: GatewayEnv, gateway: MailGateway
) -> None:
    raw = inbound(1).replace(b"\n", b"\r\n")
    deliver(gateway_env, raw)
    assert [i.raw for i in fetched(gateway)] == [raw]


def test_fetch_does_not_consume(gateway_env: GatewayEnv, gateway: MailGateway) -> None:
    raw = inbound(1)
    deliver(gateway_env, raw)
    first = fetched(gateway)
    second = fetched(gateway)
    assert [i.raw for i in first] == [raw]
    assert second == first


def test_marked_message_is_not_fetched_again(gateway_env: GatewayEnv, gateway: MailGateway) -> None:
    deliver(gateway_env, inbound(1))
    (item,) = fetched(gateway)
    gateway.mark_processed(item.item_id)
    assert fetched(gateway) == []


def test_mark_processed_twice_is_harmless(gateway_env: GatewayEnv, gateway: MailGateway) -> None:
    deliver(gateway_env, inbound(1))
    (item,) = fetched(gateway)
    gateway.mark_processed(item.item_id)
    gateway.mark_processed(item.item_id)
    assert fetched(gateway) == []


def test_mark_processed_touches_only_that_message(
    gateway_env: GatewayEnv, gateway: MailGateway
) -> None:
    first, second, third = inbound(1), inbound(2), inbound(3)
    for raw in (first, second, third):
        deliver(gateway_env, raw)
    items = fetched(gateway)
    gateway.mark_processed(items[1].item_id)
    assert [i.raw for i in fetched(gateway)] == [first, third]


def test_mark_processed_during_fetch(gateway_env: GatewayEnv, gateway: MailGateway) -> None:
    """The intake marks each message as it commits it, while still iterating."""
    raws = [inbound(n) for n in range(3)]
    for raw in raws:
        deliver(gateway_env, raw)
    seen = []
    for item in gateway.fetch_new():
        seen.append(item.raw)
        gateway.mark_processed(item.item_id)
    assert seen == raws
    assert fetched(gateway) == []


def test_fetch_is_oldest_first(gateway_env: GatewayEnv, gateway: MailGateway) -> None:
    raws = [inbound(n) for n in range(5)]
    for raw in raws:
        deliver(gateway_env, raw)
    assert [i.raw for i in fetched(gateway)] == raws


def test_message_delivered_after_a_fetch_comes_last(
    gateway_env: GatewayEnv, gateway: MailGateway
) -> None:
    early, late = inbound(1), inbound(2)
    deliver(gateway_env, early)
    assert [i.raw for i in fetched(gateway)] == [early]
    deliver(gateway_env, late)
    assert [i.raw for i in fetched(gateway)] == [early, late]


def test_item_ids_are_distinct(gateway_env: GatewayEnv, gateway: MailGateway) -> None:
    same = inbound(1)
    deliver(gateway_env, same)
    deliver(gateway_env, same)  # the same message delivered twice is two items
    items = fetched(gateway)
    assert len(items) == 2
    assert items[0].item_id != items[1].item_id
    gateway.mark_processed(items[0].item_id)
    assert fetched(gateway) == [items[1]]


def test_non_utf8_message_is_fetched_byte_identical(
    gateway_env: GatewayEnv, gateway: MailGateway
) -> None:
    with pytest.raises(UnicodeDecodeError):
        LATIN1.decode("utf-8")
    deliver(gateway_env, LATIN1)
    (item,) = fetched(gateway)
    assert item.raw == LATIN1
    assert "café" in parse(item.raw).get_content()


def test_send_keeps_threading_headers(gateway_env: GatewayEnv, gateway: MailGateway) -> None:
    msg = outbound()
    returned = gateway.send(msg)
    assert returned == "<request.SI-2026-0001.police@partnership.example>"
    (raw,) = gateway_env.sent()
    copy = parse(raw)
    assert copy["Message-ID"] == "<request.SI-2026-0001.police@partnership.example>"
    assert copy["In-Reply-To"] == "<referral.20261117164812.7c1e@borough.example>"
    assert copy["References"] == (
        "<referral.20261117164812.7c1e@borough.example> <ack.SI-2026-0001@partnership.example>"
    )


def test_send_round_trips_a_multipart_message_with_attachment(
    gateway_env: GatewayEnv, gateway: MailGateway
) -> None:
    gateway.send(outbound())
    (raw,) = gateway_env.sent()
    copy = parse(raw)
    assert copy.get_content_type() == "multipart/mixed"
    assert copy["Subject"] == (
        "[SI-2026-0001] Information gathering request (return within 48 hours)"
    )
    body = copy.get_body(("plain",))
    assert body is not None
    assert "Information Gathering Tool" in body.get_content()
    (attachment,) = copy.iter_attachments()
    assert attachment.get_filename() == "igt-template.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == ATTACHMENT


def test_send_without_message_id_gets_one(gateway_env: GatewayEnv, gateway: MailGateway) -> None:
    msg = outbound(with_id=False)
    returned = gateway.send(msg)
    assert returned.startswith("<") and returned.endswith(">")
    assert returned.rstrip(">").endswith("@partnership.example")
    (raw,) = gateway_env.sent()
    assert parse(raw)["Message-ID"] == returned


def test_send_gives_each_message_its_own_id(gateway_env: GatewayEnv, gateway: MailGateway) -> None:
    ids = {gateway.send(outbound(with_id=False)) for _ in range(3)}
    assert len(ids) == 3
    assert len(gateway_env.sent()) == 3


def test_sent_message_has_a_date(gateway_env: GatewayEnv, gateway: MailGateway) -> None:
    gateway.send(outbound())
    (raw,) = gateway_env.sent()
    assert parse(raw)["Date"] is not None


def test_sent_message_is_not_fetched_as_inbound(
    gateway_env: GatewayEnv, gateway: MailGateway
) -> None:
    gateway.send(outbound())
    assert fetched(gateway) == []
