"""IMAP for intake, SMTP for sending: one gateway, standard library only.

Intake keeps its own bookkeeping instead of trusting ``\\Seen`` (a person reading the mailbox must
not make the bot skip a message): the state file holds the folder's ``UIDVALIDITY``, a watermark
(every UID at or below it is done) and the processed UIDs above the watermark. A listing returns
every UID above the watermark that is not processed, so nothing is read twice and nothing is missed
after a restart. When ``UIDVALIDITY`` changes the state starts again from zero (the intake
de-duplicates by Message-ID).

:meth:`ImapSmtpGateway.mark_processed` flags the message ``\\Seen`` and moves it to the processed
folder (``MOVE`` when the server has it, else ``COPY`` + ``\\Deleted`` + ``UID EXPUNGE``); with an
empty processed folder it only flags it.

The gateway does not save a copy of what it sends (an APPEND after the send would miss exactly
the sends whose answer was lost). Many servers file mail sent through them in the Sent folder
themselves (Exchange Online and Gmail do); naming that folder (``sent_folder``) lets
:meth:`ImapSmtpGateway.was_sent` look there by ``SEARCH HEADER Message-ID`` after a send whose
answer never came (:class:`SendOutcomeUnknown`: the connection dropped or timed out after the
whole message had been written). Without it the gateway cannot tell, and such a message is sent
again: at least once, never lost.

The state file is written by :mod:`bot.mail.state`; :func:`bot.mail.gateway.ensure_message_id`
gives a message without one its Message-ID; the SMTP side is :mod:`bot.mail.smtp`.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from bot.mail.gateway import (
    InboundItem,
    MailboxError,
    TransientMailboxError,
    ensure_message_id,
)
from bot.mail.smtp import Security, SmtpServer
from bot.mail.state import read_json_state, write_json_state

log = logging.getLogger(__name__)

#: How long a server may take to file a message sent through it in its Sent folder.
SENT_COPY_LAG = timedelta(minutes=10)

# --- the gateway ----------------------------------------------------------------------------------


class ImapSmtpGateway:
    """Read one IMAP folder, send through SMTP."""

    def __init__(
        self,
        *,
        imap_host: str,
        imap_port: int = 993,
        imap_security: Security = "tls",
        imap_username: str = "",
        imap_password: str | None = None,
        imap_oauth_token: Callable[[], str] | None = None,
        folder: str = "INBOX",
        processed_folder: str = "Processed",
        smtp_host: str = "",
        smtp_port: int = 587,
        smtp_security: Security = "starttls",
        smtp_username: str = "",
        smtp_password: str | None = None,
        smtp_oauth_token: Callable[[], str] | None = None,
        mail_from: str,
        state_path: Path,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        imap_ca_file: Path | None = None,
        smtp_ca_file: Path | None = None,
        sent_folder: str = "",
        sent_copy_lag: timedelta = SENT_COPY_LAG,
    ) -> None:
        self.name = f"imap:{imap_host}/{folder}"
        self._sent_folder = sent_folder
        # Without a sent folder nothing can be learnt by waiting.
        self.sent_copy_lag = sent_copy_lag if sent_folder else timedelta(0)
        self._imap_host, self._imap_port, self._imap_security = imap_host, imap_port, imap_security
        self._imap_username, self._imap_password = imap_username, imap_password
        self._imap_token = imap_oauth_token
        self._folder, self._processed = folder, processed_folder
        self._smtp_host = smtp_host
        self._mail_from = mail_from
        self._state_path = state_path
        self._ssl_context = ssl_context
        self._timeout = timeout
        self._imap_ca_file = imap_ca_file
        self._smtp = SmtpServer(
            host=smtp_host, port=smtp_port, security=smtp_security, username=smtp_username,
            password=smtp_password, token=smtp_oauth_token, timeout=timeout,
            tls_context=lambda: self._context(smtp_ca_file, "SMTP_CA_FILE"),
        )

    # -- IMAP plumbing -------------------------------------------------------------------------

    def _context(self, ca_file: Path | None, setting: str) -> ssl.SSLContext:
        """Certificates are always verified (chain and host name). A CA file replaces the system
        trust store, for servers whose certificate comes from the organisation's own CA."""
        if self._ssl_context is not None:
            return self._ssl_context
        if ca_file is None:
            return ssl.create_default_context()
        try:
            return ssl.create_default_context(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            # Raised as a MailboxError so it is not mistaken for an unreachable server.
            raise MailboxError(f"{setting} {ca_file} cannot be used: {type(exc).__name__}") from None

    @contextlib.contextmanager
    def _imap(self) -> Iterator[imaplib.IMAP4]:
        conn: imaplib.IMAP4 | None = None
        try:
            with _imap_errors("IMAP connect"):
                if self._imap_security == "tls":
                    conn = imaplib.IMAP4_SSL(
                        self._imap_host,
                        self._imap_port,
                        ssl_context=self._context(self._imap_ca_file, "IMAP_CA_FILE"),
                        timeout=self._timeout,
                    )
                else:
                    conn = imaplib.IMAP4(self._imap_host, self._imap_port, timeout=self._timeout)
                    if self._imap_security == "starttls":
                        conn.starttls(ssl_context=self._context(self._imap_ca_file, "IMAP_CA_FILE"))
            with _imap_errors("IMAP login", auth=True):
                if self._imap_token is not None:
                    user, token = self._imap_username, self._imap_token()
                    conn.authenticate(
                        "XOAUTH2",
                        lambda _: f"user={user}\x01auth=Bearer {token}\x01\x01".encode(),
                    )
                else:
                    conn.login(self._imap_username, self._imap_password or "")
            yield conn
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.logout()

    def _select(self, conn: imaplib.IMAP4, *, readonly: bool) -> int:
        """Select the intake folder; return its UIDVALIDITY."""
        with _imap_errors("IMAP select"):
            typ, _ = conn.select(_quote(self._folder), readonly=readonly)
            if typ != "OK":
                raise MailboxError(f"IMAP folder {self._folder!r} not found or not selectable")
            _, data = conn.response("UIDVALIDITY")
        try:
            return int(data[0])
        except (TypeError, ValueError, IndexError):
            raise MailboxError("IMAP server did not report UIDVALIDITY") from None

    def _folder_exists(self, conn: imaplib.IMAP4, folder: str) -> bool:
        with _imap_errors("IMAP list"):
            typ, data = conn.list('""', _quote(folder))
        return typ == "OK" and any(d for d in data if d)

    # -- state ---------------------------------------------------------------------------------

    def _load_state(self, uidvalidity: int) -> tuple[int, set[int]]:
        state = read_json_state(self._state_path)
        if state.get("uidvalidity") != uidvalidity:
            if state:
                log.warning("IMAP UIDVALIDITY changed; re-reading the folder from the start")
            return 0, set()
        return int(state.get("last_uid", 0)), {int(u) for u in state.get("processed", [])}

    def _save_state(self, uidvalidity: int, watermark: int, processed: set[int]) -> None:
        processed = {u for u in processed if u > watermark}
        write_json_state(
            self._state_path,
            {"uidvalidity": uidvalidity, "last_uid": watermark, "processed": sorted(processed)},
        )

    # -- MailGateway ---------------------------------------------------------------------------

    def fetch_new(self) -> Iterator[InboundItem]:
        with self._imap() as conn:
            uidvalidity = self._select(conn, readonly=True)
            watermark, processed = self._load_state(uidvalidity)
            with _imap_errors("IMAP search"):
                typ, data = conn.uid("SEARCH", "UID", f"{watermark + 1}:*")
            if typ != "OK":
                raise MailboxError("IMAP search failed")
            found = sorted({int(u) for u in b" ".join(d for d in data if d).split()})
            found = [u for u in found if u > watermark]  # "n:*" always matches the last message
            pending = [u for u in found if u not in processed]
            # Everything below the oldest pending UID is done; with none pending, all seen is.
            new_mark = (
                max(watermark, pending[0] - 1) if pending else max([watermark, *found, *processed])
            )
            if new_mark != watermark:
                self._save_state(uidvalidity, new_mark, processed)
            log.info("IMAP listing: %d new message(s)", len(pending))
            for uid in pending:
                with _imap_errors("IMAP fetch"):
                    typ, fetched = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
                raw = _literal(fetched) if typ == "OK" else None
                if raw is None:  # expunged meanwhile
                    continue
                yield InboundItem(item_id=f"{uidvalidity}:{uid}", raw=raw)

    def mark_processed(self, item_id: str) -> None:
        try:
            validity_text, uid_text = item_id.split(":", 1)
            item_validity, uid = int(validity_text), int(uid_text)
        except ValueError:
            raise MailboxError("not an IMAP item id") from None
        with self._imap() as conn:
            uidvalidity = self._select(conn, readonly=False)
            if uidvalidity != item_validity:
                log.warning("IMAP item %s is from an older UIDVALIDITY; not marked", item_id)
                return
            watermark, processed = self._load_state(uidvalidity)
            if uid <= watermark or uid in processed:
                return
            with _imap_errors("IMAP mark processed"):
                conn.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)")
                if self._processed:
                    self._move(conn, uid)
            processed.add(uid)
            self._save_state(uidvalidity, watermark, processed)
            log.info("IMAP item %s processed", item_id)

    def _move(self, conn: imaplib.IMAP4, uid: int) -> None:
        _, caps = conn.capability()
        capabilities = set(b" ".join(c for c in caps if c).upper().split())
        target = _quote(self._processed)
        if b"MOVE" in capabilities:
            typ, data = conn.uid("MOVE", str(uid), target)
        else:
            typ, data = conn.uid("COPY", str(uid), target)
            if typ == "OK":
                conn.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)")
                if b"UIDPLUS" in capabilities:
                    conn.uid("EXPUNGE", str(uid))
                else:
                    conn.expunge()
        if typ != "OK":
            detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
            if "TRYCREATE" in detail.upper() or "NONEXISTENT" in detail.upper():
                raise MailboxError(f"IMAP processed folder {self._processed!r} not found")
            raise MailboxError("IMAP could not move the message to the processed folder")

    def send(self, message: EmailMessage) -> str:
        mid = ensure_message_id(message, self._mail_from)
        refused = self._smtp.send(message, self._mail_from)
        if refused:
            log.warning("SMTP refused %d recipient(s) of %s", len(refused), mid)
        log.info("SMTP sent %s", mid)
        return mid

    def was_sent(self, message_id: str) -> bool | None:
        """Whether the sent folder holds a message with this Message-ID; None without one."""
        wanted = message_id.strip()
        if not self._sent_folder or not _PRINTABLE.fullmatch(wanted):
            return None  # our ids are printable ASCII; anything else would need a literal
        with self._imap() as conn:
            with _imap_errors("IMAP select sent folder"):
                typ, _ = conn.select(_quote(self._sent_folder), readonly=True)
            if typ != "OK":
                raise MailboxError(f"IMAP sent folder {self._sent_folder!r} not found or not selectable")
            quoted = '"' + wanted.replace("\\", "\\\\").replace('"', '\\"') + '"'
            with _imap_errors("IMAP search sent folder"):
                typ, data = conn.uid("SEARCH", "HEADER", "Message-ID", quoted)
            if typ != "OK":
                raise MailboxError("IMAP search of the sent folder failed")
            return any(d.split() for d in data if d)

    def check(self) -> list[str]:
        problems: list[str] = []
        try:
            with self._imap() as conn:
                self._select(conn, readonly=True)
                if self._processed and not self._folder_exists(conn, self._processed):
                    problems.append(f"IMAP: processed folder {self._processed!r} not found")
                if self._sent_folder and not self._folder_exists(conn, self._sent_folder):
                    problems.append(f"IMAP: sent folder {self._sent_folder!r} not found")
        except MailboxError as exc:
            problems.append(f"IMAP: {exc}")
        if not self._smtp_host:
            problems.append("SMTP: SMTP_HOST is not set; the bot cannot send")
            return problems
        problems.extend(self._smtp.dry_run(self._mail_from))
        return problems


# --- small helpers --------------------------------------------------------------------------------


@contextlib.contextmanager
def _imap_errors(what: str, *, auth: bool = False) -> Iterator[None]:
    try:
        yield
    except MailboxError:
        raise
    except imaplib.IMAP4.abort as exc:
        raise TransientMailboxError(f"{what}: connection lost: {_short(exc)}") from None
    except imaplib.IMAP4.error as exc:
        if auth:
            raise MailboxError(f"{what}: credentials rejected: {_short(exc)}") from None
        raise MailboxError(f"{what} failed: {_short(exc)}") from None
    except ssl.SSLCertVerificationError as exc:
        raise MailboxError(f"{what}: TLS certificate not trusted: {exc.reason}") from None
    except (TimeoutError, OSError) as exc:
        raise TransientMailboxError(
            f"{what}: server unreachable: {type(exc).__name__}: {exc}"
        ) from None


def _short(exc: Exception) -> str:
    text = str(exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text[:200]


_ATOM = re.compile(r"^[A-Za-z0-9_.\-/]+$")
_PRINTABLE = re.compile(r"[\x20-\x7e]+")


def _quote(folder: str) -> str:
    if _ATOM.match(folder):
        return folder
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal(fetched: list[Any]) -> bytes | None:
    for part in fetched:
        if isinstance(part, tuple) and len(part) >= 2 and isinstance(part[1], bytes):
            return part[1]
    return None
