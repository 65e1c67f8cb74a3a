"""The SMTP side of the IMAP/SMTP gateway (:mod:`bot.mail.imap`): the connection (certificates
always verified, password or XOAUTH2 login), a send whose failures say whether the message can
have gone, and the dry run ``check`` makes. Standard library only.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

from bot.mail.gateway import MailboxError, SendOutcomeUnknown, TransientMailboxError

Security = Literal["tls", "starttls", "none"]


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: Security
    username: str
    password: str | None
    #: XOAUTH2 bearer token, used when set (instead of the password).
    token: Callable[[], str] | None
    timeout: float
    #: The TLS context to verify the server with (built when first needed).
    tls_context: Callable[[], ssl.SSLContext]

    def send(self, message: EmailMessage, mail_from: str) -> dict[str, tuple[int, bytes]]:
        """Send ``message``; returns the recipients refused (when some were accepted).

        :class:`SendOutcomeUnknown` when the connection failed after the whole message had been
        written: the server may have queued it and lost only its answer."""
        with self.connect("SMTP send") as smtp:
            try:
                return smtp.send_message(message, from_addr=mail_from)
            except smtplib.SMTPRecipientsRefused as exc:
                raise MailboxError(f"SMTP refused all {len(exc.recipients)} recipient(s)") from None
            except smtplib.SMTPResponseException as exc:
                raise smtp_error("SMTP send", exc) from None
            except OSError as exc:  # includes SMTPServerDisconnected and timeouts
                if getattr(smtp, "message_written", False):
                    raise SendOutcomeUnknown(
                        f"SMTP send: no answer after the message went ({type(exc).__name__})"
                    ) from None
                raise

    def dry_run(self, mail_from: str) -> list[str]:
        """The server accepts our envelope sender; RSET, nothing is sent. One line per problem."""
        try:
            with self.connect("SMTP check") as smtp:
                code, _ = smtp.mail(mail_from)
                smtp.rset()
                if code != 250:
                    return [f"SMTP: the server refused MAIL_FROM as sender ({code})"]
        except MailboxError as exc:
            return [f"SMTP: {exc}"]
        except smtplib.SMTPException as exc:
            return [f"SMTP: dry run failed: {type(exc).__name__}"]
        return []

    @contextlib.contextmanager
    def connect(self, what: str) -> Iterator[smtplib.SMTP]:
        smtp: smtplib.SMTP | None = None
        try:
            try:
                if self.security == "tls":
                    smtp = _track_message_end(smtplib.SMTP_SSL(
                        self.host, self.port, timeout=self.timeout, context=self.tls_context()
                    ))
                else:
                    smtp = _track_message_end(smtplib.SMTP(self.host, self.port, timeout=self.timeout))
                    if self.security == "starttls":
                        smtp.starttls(context=self.tls_context())
                smtp.ehlo_or_helo_if_needed()
                if self.token is not None:
                    user, token = self.username, self.token()
                    smtp.auth(
                        "XOAUTH2",
                        lambda challenge=None: f"user={user}\x01auth=Bearer {token}\x01\x01",
                        initial_response_ok=True,
                    )
                elif self.username:
                    smtp.login(self.username, self.password or "")
            except smtplib.SMTPAuthenticationError as exc:
                raise MailboxError(f"SMTP rejected the credentials ({exc.smtp_code})") from None
            except smtplib.SMTPNotSupportedError as exc:
                raise MailboxError(f"SMTP server does not support: {exc}") from None
            except smtplib.SMTPResponseException as exc:
                raise smtp_error(f"{what} (connect)", exc) from None
            except ssl.SSLCertVerificationError as exc:
                raise MailboxError(f"{what}: TLS certificate not trusted: {exc.reason}") from None
            except OSError as exc:  # includes SMTPServerDisconnected and SMTPConnectError
                raise TransientMailboxError(
                    f"{what}: SMTP server unreachable: {type(exc).__name__}: {exc}"
                ) from None
            try:
                yield smtp
            except smtplib.SMTPServerDisconnected as exc:
                raise TransientMailboxError(f"{what}: connection lost: {exc}") from None
            except OSError as exc:
                raise TransientMailboxError(f"{what}: {type(exc).__name__}: {exc}") from None
        finally:
            if smtp is not None:
                with contextlib.suppress(Exception):
                    smtp.quit()


def smtp_error(what: str, exc: smtplib.SMTPResponseException) -> MailboxError:
    code = exc.smtp_code
    if 400 <= code < 500:
        return TransientMailboxError(f"{what}: server answered {code} (temporary)")
    return MailboxError(f"{what}: server answered {code}")


def _track_message_end(smtp: smtplib.SMTP) -> smtplib.SMTP:
    """Note on ``smtp`` when the end of the message (CRLF . CRLF) has been handed to the socket:
    a failure after that leaves the send's outcome unknown (the server may have queued the
    message and lost only its answer); one before it sent nothing (RFC 5321 section 4.1.1.4: a
    message is taken only with the reply to its end of data). ``SMTP.data`` writes the whole
    message, ending with that sequence, in one ``send`` call; commands never end with it."""
    plain_send = smtp.send

    def send(s: bytes | str) -> None:
        plain_send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            smtp.message_written = True  # type: ignore[attr-defined]

    smtp.message_written = False  # type: ignore[attr-defined]
    smtp.send = send  # type: ignore[method-assign,assignment]
    return smtp
