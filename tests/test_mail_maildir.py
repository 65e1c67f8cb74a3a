"""What the Maildir gateway does where the contract leaves it to the implementation: folders,
fetch order by mtime, the move to ``cur`` flagged seen, races with other readers, sent copies and
logs that name keys, never content. The contract itself is tests/test_gateway_contract.py.
"""

from __future__ import annotations

import email.utils
import os
from pathlib import Path

import pytest

from bot.mail.gateway import MailboxError
from bot.mail.maildir import MaildirGateway
from tests.test_gateway_contract import LATIN1, NOW, fetched, inbound, outbound, parse


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


def test_maildir_check_is_healthy_and_makes_the_folders(maildir: MaildirGateway) -> None:
    assert maildir.check() == []
    for folder in ("inbox", "processed", "sent"):
        assert all((maildir.root / folder / sub).is_dir() for sub in ("cur", "new", "tmp"))


def test_maildir_check_names_a_folder_it_cannot_make(maildir: MaildirGateway) -> None:
    maildir.root.mkdir(parents=True)
    (maildir.root / "sent").write_bytes(b"a file where the folder should be")
    problems = maildir.check()
    assert len(problems) == 1
    assert problems[0].startswith(f"{maildir.name}: cannot create folder sent")
