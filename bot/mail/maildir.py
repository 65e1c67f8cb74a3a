"""The Maildir gateway: a directory tree on disk instead of a mail server.

Used by ``make run`` out of the box, by the tests and by small partnerships whose MTA delivers
into a Maildir. Three folders under ``root``, each a Maildir of its own (``cur``, ``new``,
``tmp``), created on first use:

* ``inbox``: new mail arrives here. An MTA (or a person) drops RFC 5322 files into
  ``inbox/new``; a mail client may have moved some to ``inbox/cur``. Both are read.
* ``processed``: an inbound message is moved here, byte for byte and flagged seen (``S``),
  once the intake has committed it.
* ``sent``: every message the bot sends is written here, flagged seen. Writing it is the
  whole of "sending" for this gateway.

The item id is the Maildir key (the file name without the ``:2,<flags>`` info).

A message is *moved* with a single ``rename`` into ``processed/cur`` (same file system), so a
crash never leaves it in both folders and the bytes are untouched. Writing to ``sent`` goes
through :meth:`mailbox.Maildir.add` (``tmp`` first, then ``new``) and is then flagged seen.

Messages dropped into ``inbox/new`` by hand should be written elsewhere and moved in (as an
MTA does via ``tmp``): a file that is still being written would be read half-finished.

Logs carry Maildir keys and folder names only, never subjects, bodies or addresses.
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import logging
import mailbox
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from bot.clock import SystemClock, as_utc
from bot.mail.gateway import InboundItem, MailboxError

log = logging.getLogger(__name__)

INBOX = "inbox"
SENT = "sent"
PROCESSED = "processed"
_SUBDIRS = ("cur", "new", "tmp")
#: Message-ID domain when the From header gives none.
FALLBACK_DOMAIN = "review-bot.invalid"
_SEEN = "S"
_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")


@dataclass(frozen=True)
class _Entry:
    """One message file found in a folder listing."""

    key: str
    path: Path
    mtime_ns: int


class MaildirGateway:
    """:class:`~bot.mail.gateway.MailGateway` over a local Maildir tree (see module doc)."""

    def __init__(self, root: Path, now: Callable[[], datetime] | None = None) -> None:
        self.root = Path(root)
        self.name = f"maildir:{root}"
        # The only wall-clock read: the Date header of a message that has none.
        self._now = now if now is not None else SystemClock().now
        # Folders made (or found) already: checking all three subfolders of two folders for
        # every message moved was half the gateway's own time (docs/benchmarks.md). Forgotten
        # at each poll and whenever a move or a write fails, so a folder removed meanwhile is
        # made again.
        self._folders: dict[str, Path] = {}

    # --- MailGateway -----------------------------------------------------------------------

    def fetch_new(self) -> Iterator[InboundItem]:
        """Every message in ``inbox`` (``new`` and ``cur``), oldest first, bytes as on disk.

        The listing is taken when iteration starts; each file is read as it is yielded. Nothing
        in the mailbox changes.
        """
        self._folders.clear()  # once a poll, every folder is checked (and made) again
        inbox = self._folder(INBOX)
        entries = sorted(_list(inbox), key=lambda e: (e.mtime_ns, e.key))
        for entry in entries:
            raw = self._read(inbox, entry)
            if raw is None:
                continue
            yield InboundItem(item_id=entry.key, raw=raw)

    def mark_processed(self, item_id: str) -> None:
        """Move the message from ``inbox`` to ``processed/cur``, flagged seen. Idempotent."""
        # Two attempts: a mail client may move the file from new/ to cur/ under our feet.
        for _attempt in range(2):
            inbox = self._folder(INBOX)
            processed = self._folder(PROCESSED)
            source = _find(inbox, item_id)
            if source is None:
                log.debug("mark_processed: %s no longer in the inbox, nothing to do", item_id)
                return
            target = processed / "cur" / _with_flag(source.name, _SEEN)
            if target.exists():
                # A file of that name was processed before (keys dropped in by hand can repeat):
                # keep both rather than overwrite the earlier one.
                target = processed / "cur" / _with_flag(_unique_name(source.name), _SEEN)
            try:
                os.rename(source, target)
            except FileNotFoundError:
                self._folders.clear()  # the file moved, or a folder went: look again
                continue
            except OSError as exc:
                self._folders.clear()
                raise MailboxError(
                    f"{self.name}: cannot move inbox message {item_id} to processed: "
                    f"{exc.strerror or type(exc).__name__}"
                ) from exc
            log.info("mark_processed: moved %s to %s", item_id, target.name)
            return
        log.debug("mark_processed: %s vanished while moving, taken elsewhere", item_id)

    def send(self, message: EmailMessage) -> str:
        """Write ``message`` into ``sent`` (flagged seen) and return its Message-ID.

        A missing Message-ID or Date is added to ``message`` itself; headers already set are
        kept exactly. Only a failure to write raises :class:`MailboxError`.
        """
        if message["Message-ID"] is None:
            message["Message-ID"] = email.utils.make_msgid(domain=_sender_domain(message))
        if message["Date"] is None:
            message["Date"] = email.utils.format_datetime(as_utc(self._now()))
        message_id = str(message["Message-ID"]).strip()
        raw = message.as_bytes(policy=email.policy.SMTP)

        sent_dir = self._folder(SENT)
        try:
            # Maildir.add writes bytes as given on POSIX (it only rewrites b"\n" to os.linesep).
            key = mailbox.Maildir(str(sent_dir), factory=None, create=False).add(raw)
        except OSError as exc:
            self._folders.clear()
            raise MailboxError(
                f"{self.name}: cannot write to sent: {exc.strerror or type(exc).__name__}"
            ) from exc
        self._flag_sent_seen(sent_dir, key)
        log.info("send: wrote %s to sent", key)
        return message_id

    def check(self) -> list[str]:
        """Each folder is there (or can be made) with its ``cur``, ``new`` and ``tmp``, readable and
        writable: what a poll, a move and a send need. Writes nothing but missing folders."""
        problems: list[str] = []
        self._folders.clear()  # look at the disk, not at what an earlier call found
        for name in (INBOX, PROCESSED, SENT):
            try:
                path = self._folder(name)
            except MailboxError as exc:
                problems.append(str(exc))
                continue
            problems += [
                f"{self.name}: cannot read and write {name}/{sub}"
                for sub in _SUBDIRS if not os.access(path / sub, os.R_OK | os.W_OK | os.X_OK)
            ]
        return problems

    def was_sent(self, message_id: str) -> bool:
        """Whether a message with this Message-ID is already in ``sent``.

        Asked by the outbox only when it takes over the claim of a sender that died mid-send
        (decision 0013), so a crash between writing and recording does not send twice."""
        wanted = message_id.strip()
        folder = self._folder(SENT)
        for sub in ("new", "cur"):
            for path in (folder / sub).iterdir():
                try:
                    with path.open("rb") as handle:
                        headers = email.parser.BytesHeaderParser().parse(handle)
                except OSError:
                    continue
                if str(headers.get("Message-ID", "")).strip() == wanted:
                    return True
        return False

    # --- internals -------------------------------------------------------------------------

    def _folder(self, name: str) -> Path:
        """The folder's path, creating the Maildir (``cur``, ``new``, ``tmp``) if missing."""
        known = self._folders.get(name)
        if known is not None:
            return known
        path = self.root / name
        try:
            for sub in _SUBDIRS:
                (path / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MailboxError(
                f"{self.name}: cannot create folder {name}: {exc.strerror or type(exc).__name__}"
            ) from exc
        self._folders[name] = path
        return path

    def _read(self, inbox: Path, entry: _Entry) -> bytes | None:
        """The file's bytes; ``None`` if it vanished (another process took it)."""
        raw = self._read_file(entry.path, entry.key)
        if raw is None:
            # Gone from where it was listed: taken, or moved from new/ to cur/ by a mail client.
            moved = _find(inbox, entry.key)
            if moved is not None and moved != entry.path:
                raw = self._read_file(moved, entry.key)
        if raw is None:
            log.debug("fetch_new: %s vanished before it was read, skipped", entry.key)
        return raw

    def _read_file(self, path: Path, key: str) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise MailboxError(
                f"{self.name}: cannot read inbox message {key}: "
                f"{exc.strerror or type(exc).__name__}"
            ) from exc

    def _flag_sent_seen(self, sent_dir: Path, key: str) -> None:
        """Move a freshly added ``sent/new/<key>`` to ``sent/cur/<key>:2,S``."""
        source = sent_dir / "new" / key
        try:
            os.rename(source, sent_dir / "cur" / _with_flag(key, _SEEN))
        except OSError as exc:
            # The message is stored either way; the flag is cosmetic.
            log.warning(
                "send: %s stored but not flagged seen: %s",
                key,
                exc.strerror or type(exc).__name__,
            )


def _list(folder: Path) -> list[_Entry]:
    """Message files in ``folder/new`` and ``folder/cur``, one per key.

    Dot files and directories are not messages (Maildir readers skip them). A file that
    vanishes while being listed is left out; one that cannot be examined raises.
    """
    found: dict[str, _Entry] = {}
    for sub in ("new", "cur"):
        directory = folder / sub
        try:
            with os.scandir(directory) as it:
                names = [(e.name, Path(e.path)) for e in it if not e.name.startswith(".")]
        except OSError as exc:
            raise MailboxError(
                f"cannot list {folder / sub}: {exc.strerror or type(exc).__name__}"
            ) from exc
        for name, path in names:
            key = _key(name)
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise MailboxError(
                    f"cannot read message {key} in {folder}: {exc.strerror or type(exc).__name__}"
                ) from exc
            if not stat.S_ISREG(st.st_mode):
                continue
            if key in found:
                log.warning("%s: key %s is in both new and cur; reading one", folder.name, key)
                continue
            found[key] = _Entry(key=key, path=path, mtime_ns=st.st_mtime_ns)
    return list(found.values())


def _find(folder: Path, key: str) -> Path | None:
    """The file of the message with this key in ``folder`` (``new`` or ``cur``), or ``None``."""
    # Fast path: a message still in new/ is named by its key alone, so no listing is needed
    # (listing for every message made a large backlog quadratic; docs/benchmarks.md).
    direct = folder / "new" / key
    if direct.is_file():
        return direct
    for sub in ("new", "cur"):
        try:
            with os.scandir(folder / sub) as it:
                for e in it:
                    if not e.name.startswith(".") and _key(e.name) == key and e.is_file():
                        return Path(e.path)
        except OSError as exc:
            raise MailboxError(
                f"cannot list {folder / sub}: {exc.strerror or type(exc).__name__}"
            ) from exc
    return None


def _key(file_name: str) -> str:
    """The Maildir key: the file name without the ``:2,<flags>`` info."""
    return file_name.split(mailbox.Maildir.colon, 1)[0]


def _with_flag(file_name: str, flag: str) -> str:
    """The file name with ``flag`` added to its ``:2,`` info (flags stay sorted, per Maildir)."""
    key, colon, info = file_name.partition(mailbox.Maildir.colon)
    flags = info[2:] if colon and info.startswith("2,") else ""
    return f"{key}{mailbox.Maildir.colon}2,{''.join(sorted(set(flags) | {flag}))}"


def _unique_name(file_name: str) -> str:
    """A new key derived from the file's key, for a name clash in ``processed``."""
    return f"{_key(file_name)}.{os.urandom(6).hex()}"


def _sender_domain(message: EmailMessage) -> str:
    """The domain of the (first) From address, or :data:`FALLBACK_DOMAIN`."""
    values = message.get_all("From") or []
    for _name, addr in email.utils.getaddresses([str(v) for v in values]):
        domain = addr.rpartition("@")[2].strip().strip(".")
        if "@" in addr and domain and all(c in _DOMAIN_CHARS for c in domain):
            return domain
    return FALLBACK_DOMAIN
