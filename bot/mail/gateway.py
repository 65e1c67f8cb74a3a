"""The mail gateway seam: one interface, one implementation per mailbox kind.

The core hands a gateway ready-made RFC 5322 messages and receives raw MIME bytes; it never
knows whether the mailbox is a Maildir, Microsoft Graph, Exchange (EWS) or IMAP/SMTP.

Contract every implementation keeps (architecture rule 5, "processed exactly once"):

* :meth:`fetch_new` lists inbound messages that have not been marked processed, oldest first,
  as raw bytes exactly as received. Listing does not change the mailbox.
* :meth:`mark_processed` is called only after the intake has committed the message; it marks or
  moves the item so that :meth:`fetch_new` does not list it again. Calling it twice is harmless.
* :meth:`send` delivers one message and keeps the ``Message-ID``, ``In-Reply-To`` and
  ``References`` headers the bot set; it returns the Message-ID that went out. It raises
  :class:`MailboxError` when the message could not be handed over (the outbox retries).
* :meth:`check` proves the mailbox can be read and that sending would work (a dry run: nothing is
  sent, nothing is marked) and returns one line per problem, an empty list when healthy. It does
  not raise for mailbox problems; it reports them.
* Every failure is a :class:`MailboxError` whose message names the operation and the cause but
  never message content (subjects, bodies, addresses). Failures that are worth retrying as they
  are (throttling, 503, timeouts, connection errors) are :class:`TransientMailboxError`.
* :meth:`send` raises :class:`SendOutcomeUnknown` instead when the whole request had been
  written and no answer came (a timeout or a dropped connection while waiting, a gateway
  timeout): the server may have accepted it, so the outbox must not simply send it again.

Optional, for the outbox to tell whether an unanswered send went (decisions 0007 and 0013):

* ``was_sent(message_id) -> bool | None``: True when the mailbox holds the sent copy with that
  Message-ID, False when it does not, None when this mailbox cannot tell (no sent copies kept).
  Raises :class:`MailboxError` when it could not look. A gateway without it cannot tell.
* ``sent_copy_lag``: how long after a send its copy may take to show (Exchange files it in Sent
  Items after the send); before that, "not found" proves nothing. Absent: no lag.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Protocol

from bot.clock import SystemClock


class MailboxError(Exception):
    """The mailbox could not be read or written. The message says what and why, without content."""


class TransientMailboxError(MailboxError):
    """A failure that may clear by itself: throttling (429), 503, a timeout, a dropped connection.

    The caller backs off and retries; anything else (bad credentials, missing permission, a folder
    that does not exist) needs a person and is a plain :class:`MailboxError`.
    """


class SendOutcomeUnknown(TransientMailboxError):
    """The send request went out whole but its answer never came: it may have been accepted.

    Raised only where a plain retry could send the message twice (a timeout or a reset while
    waiting for the answer, HTTP 504). A failure before the request was complete (refused
    connection, TLS failure, a timeout while connecting or writing) is a plain
    :class:`TransientMailboxError`: nothing can have been sent.
    """


@dataclass(frozen=True)
class InboundItem:
    """One message waiting in the mailbox: the gateway's own id for it and its raw bytes."""

    item_id: str
    raw: bytes


class MailGateway(Protocol):
    #: A short label for logs and the audit trail, e.g. ``maildir:var/mail``.
    name: str

    def fetch_new(self) -> Iterator[InboundItem]: ...

    def mark_processed(self, item_id: str) -> None: ...

    def send(self, message: EmailMessage) -> str: ...

    def check(self) -> list[str]:
        """Prove the inbox can be read and that sending would work, without sending anything.

        Returns one line per problem (bad credentials, missing permission, folder not found,
        endpoint unreachable, ...), or an empty list when the mailbox is healthy.
        """
        ...


def ensure_message_id(message: EmailMessage, sender: str) -> str:
    """The message's Message-ID, adding one (on the sender's domain) when it has none.

    Also adds a ``Date`` when there is none. Message-ID, In-Reply-To and References set by the
    bot are never changed.
    """
    if message.get("Date") is None:
        # The outbox always sets Date from the injected clock; this only covers direct callers.
        message["Date"] = format_datetime(SystemClock().now())
    mid = message.get("Message-ID")
    if mid:
        return str(mid).strip()
    domain = sender.rpartition("@")[2] or None
    new = make_msgid(domain=domain)
    message["Message-ID"] = new
    return new
