"""The contract every mail gateway keeps (see :mod:`bot.mail.gateway`).

Each gateway kind is one entry in :data:`GATEWAY_FACTORIES`. A factory is a context manager
that takes ``tmp_path`` and yields a :class:`GatewayEnv`: the gateway under test plus two hooks
the contract needs but the gateway interface does not offer, "a message arrives in the inbox"
(``deliver``) and "what went out" (``sent``). The Graph, EWS and IMAP gateways join the suite
by adding a factory (with whatever fake server they need) to the list; every test below then
runs against them too.

``deliver`` must make arrival order observable: a message delivered later is newer than every
message delivered before it (the Maildir factory sets file mtimes a second apart).

The Maildir-only tests at the end cover what the contract leaves to the implementation.
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

from bot.mail.gateway import InboundItem, MailboxError, MailGateway
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


# --- Maildir specifics (not part of the contract) ----------------------------------------


@pytest.fixture
def maildir(tmp_path: Path) -> MaildirGateway:
    return MaildirGateway(tmp_path / "mail", now=lambda: NOW)


def drop(root: Path, sub: str, name: str, raw: bytes, mtime: int) -> Path:
    path = root / "inbox" / sub / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    os.utime(path, (mtime, mtime))
    return path


def test_maildir_name_and_lazy_folders(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    gateway = MaildirGateway(root)
    assert gateway.name == f"maildir:{root}"
    assert not root.exists()
    fetched(gateway)
    assert all((root / "inbox" / sub).is_dir() for sub in ("cur", "new", "tmp"))


def test_maildir_reads_new_and_cur_by_mtime_then_key(maildir: MaildirGateway) -> None:
    root = maildir.root
    drop(root, "cur", "zzz:2,S", b"Subject: oldest\n\n", 1_000)
    drop(root, "new", "bbb", b"Subject: tie b\n\n", 2_000)
    drop(root, "new", "aaa", b"Subject: tie a\n\n", 2_000)
    drop(root, "new", ".hidden", b"Subject: not a message\n\n", 500)
    assert [i.item_id for i in fetched(maildir)] == ["zzz", "aaa", "bbb"]


def test_maildir_fetch_changes_nothing(maildir: MaildirGateway) -> None:
    path = drop(maildir.root, "new", "k1", b"Subject: x\n\n", 1_000)
    fetched(maildir)
    assert path.exists() and path.stat().st_mtime == 1_000
    assert list((maildir.root / "inbox" / "cur").iterdir()) == []


def test_maildir_mark_processed_moves_bytes_flagged_seen(maildir: MaildirGateway) -> None:
    drop(maildir.root, "new", "k1", LATIN1, 1_000)
    drop(maildir.root, "cur", "k2:2,RS", b"Subject: y\n\n", 1_001)
    maildir.mark_processed("k1")
    maildir.mark_processed("k2")
    processed = maildir.root / "processed" / "cur"
    assert sorted(p.name for p in processed.iterdir()) == ["k1:2,S", "k2:2,RS"]
    assert (processed / "k1:2,S").read_bytes() == LATIN1
    assert list((maildir.root / "inbox" / "new").iterdir()) == []


def test_maildir_mark_processed_unknown_id_is_a_no_op(maildir: MaildirGateway) -> None:
    drop(maildir.root, "new", "k1", b"Subject: x\n\n", 1_000)
    maildir.mark_processed("no-such-key")
    maildir.mark_processed("../inbox/new/k1")
    assert [i.item_id for i in fetched(maildir)] == ["k1"]


def test_maildir_mark_processed_keeps_an_earlier_file_of_the_same_name(
    maildir: MaildirGateway,
) -> None:
    drop(maildir.root, "new", "same", b"Subject: first\n\n", 1_000)
    maildir.mark_processed("same")
    drop(maildir.root, "new", "same", b"Subject: second\n\n", 2_000)
    maildir.mark_processed("same")
    contents = sorted(p.read_bytes() for p in (maildir.root / "processed" / "cur").iterdir())
    assert contents == [b"Subject: first\n\n", b"Subject: second\n\n"]
    assert fetched(maildir) == []


def test_maildir_vanished_file_is_skipped(
    maildir: MaildirGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop(maildir.root, "new", "gone", b"Subject: taken\n\n", 1_000)
    drop(maildir.root, "new", "kept", b"Subject: kept\n\n", 2_000)
    real = Path.read_bytes

    def racing_read(self: Path) -> bytes:
        if self.name == "gone":
            self.unlink()  # another process takes it between listing and reading
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", racing_read)
    assert [i.item_id for i in fetched(maildir)] == ["kept"]


def test_maildir_file_moved_to_cur_while_fetching_is_still_read(
    maildir: MaildirGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop(maildir.root, "new", "moved", b"Subject: moved\n\n", 1_000)
    real = Path.read_bytes

    def racing_read(self: Path) -> bytes:
        if self.parent.name == "new" and self.name == "moved":
            self.rename(self.parent.parent / "cur" / "moved:2,")  # a mail client saw it
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", racing_read)
    assert [(i.item_id, i.raw) for i in fetched(maildir)] == [("moved", b"Subject: moved\n\n")]


def test_maildir_unreadable_file_raises_with_its_key(
    maildir: MaildirGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop(maildir.root, "new", "locked-key", b"Subject: secret subject\n\n", 1_000)
    real = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self.name == "locked-key":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(MailboxError, match="locked-key") as excinfo:
        fetched(maildir)
    assert "secret subject" not in str(excinfo.value)


def test_maildir_send_writes_sent_flagged_seen_with_date(maildir: MaildirGateway) -> None:
    msg = outbound(with_id=False)
    del msg["From"]
    msg["From"] = "reviews@partnership.example"
    returned = maildir.send(msg)
    (path,) = (maildir.root / "sent" / "cur").iterdir()
    assert path.name.endswith(":2,S")
    assert list((maildir.root / "sent" / "new").iterdir()) == []
    raw = path.read_bytes()
    assert raw == msg.as_bytes(policy=email.policy.SMTP)
    copy = parse(raw)
    assert copy["Message-ID"] == returned
    assert copy["Date"] == email.utils.format_datetime(NOW)


def test_maildir_send_keeps_an_existing_date(maildir: MaildirGateway) -> None:
    msg = outbound()
    msg["Date"] = "Wed, 18 Nov 2026 10:02:06 +0000"
    maildir.send(msg)
    (path,) = (maildir.root / "sent" / "cur").iterdir()
    assert parse(path.read_bytes())["Date"] == "Wed, 18 Nov 2026 10:02:06 +0000"


def test_maildir_send_without_from_uses_fallback_domain(maildir: MaildirGateway) -> None:
    msg = outbound(with_id=False)
    del msg["From"]
    assert maildir.send(msg).endswith("@review-bot.invalid>")


def test_maildir_send_failure_raises_mailbox_error(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    root.mkdir()
    (root / "sent").write_bytes(b"not a directory")
    with pytest.raises(MailboxError):
        MaildirGateway(root).send(outbound())


def test_maildir_logs_keys_not_content(
    maildir: MaildirGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="bot.mail.maildir")
    drop(maildir.root, "new", "k1", inbound(1, body="Poppy Placeholder\n"), 1_000)
    for item in maildir.fetch_new():
        maildir.mark_processed(item.item_id)
    maildir.mark_processed("k1")
    maildir.send(outbound())
    text = caplog.text
    assert "k1" in text
    for secret in ("Poppy", "Information gathering", "police.example", "partnership.example"):
        assert secret not in text
