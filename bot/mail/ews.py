"""Exchange Web Services gateway (exchangelib), for on-premises Exchange Server only.

EWS in Exchange Online is blocked by default since 1 Oct 2026 and switched off for good on
1 Apr 2027: use the Graph gateway there. :meth:`EwsMailGateway.check` warns when the endpoint is
Exchange Online.

* The endpoint is explicit (``EWS_SERVICE_ENDPOINT``); autodiscover is optional. The server
  version is pinned (``Build(15, 1)``, the Exchange 2016 schema that 2016/2019/SE all speak) so
  exchangelib does not guess it with extra round trips.
* Intake lists the inbox, oldest first, and reads each item's MIME content. Processed:
  ``is_read`` is set and the item moved to the processed folder (a child of the inbox or of the
  top of the information store, by name), so every item still in the inbox is listed, read or not.
  With an empty processed folder setting the item is only marked read and only unread items are
  listed.
* An untrusted TLS certificate is a plain :class:`MailboxError` (a person must act); outages,
  throttling and timeouts are :class:`TransientMailboxError`.
* Send: a message created from the bot's MIME and sent with ``SendAndSaveCopy``, so the bot's
  Message-ID, In-Reply-To and References go out as set, and a copy is filed in Sent Items.
  A send that went out whole but got no answer (read timeout, connection dropped while waiting)
  raises :class:`SendOutcomeUnknown`; :meth:`EwsMailGateway.was_sent` then looks for the copy in
  Sent Items by its ``InternetMessageId`` (one FindItem). Exchange files the copy after the
  transport takes the message, so "not found" counts only ``sent_copy_lag`` after the attempt.
* Nothing connects at construction; the exchangelib ``Account`` is built on first use.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from typing import Any, Literal
from urllib.parse import urlsplit

from bot.mail.gateway import (
    InboundItem,
    MailboxError,
    SendOutcomeUnknown,
    TransientMailboxError,
    ensure_message_id,
)

log = logging.getLogger(__name__)

EXCHANGE_ONLINE_HOSTS = ("outlook.office365.com", "outlook.office.com")
#: How long Exchange may take to file the copy of a sent message in Sent Items (seconds in
#: practice); as for Graph (bot/mail/graph.py).
SENT_COPY_LAG = timedelta(minutes=10)

EXCHANGE_ONLINE_WARNING = (
    "EWS: the endpoint is Exchange Online; EWS there is blocked by default since 1 Oct 2026 and "
    "switched off for good on 1 Apr 2027. Use MAIL_BACKEND=graph."
)


def is_exchange_online(endpoint: str) -> bool:
    host = (urlsplit(endpoint).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in EXCHANGE_ONLINE_HOSTS)


class EwsMailGateway:
    def __init__(
        self,
        *,
        service_endpoint: str,
        username: str,
        password: str | None,
        mailbox: str,
        auth_type: Literal["ntlm", "oauth", "basic"] = "ntlm",
        processed_folder: str = "Processed",
        autodiscover: bool = False,
        oauth_tenant_id: str = "",
        oauth_client_id: str = "",
        oauth_client_secret: str | None = None,
        version: tuple[int, int] = (15, 1),
        account: Any = None,
        sent_copy_lag: timedelta = SENT_COPY_LAG,
    ) -> None:
        self.name = f"ews:{mailbox}"
        self.sent_copy_lag = sent_copy_lag
        self._endpoint = service_endpoint
        self._username, self._password = username, password
        self._mailbox = mailbox
        self._auth_type = auth_type
        self._processed = processed_folder
        self._autodiscover = autodiscover
        self._oauth = (oauth_tenant_id, oauth_client_id, oauth_client_secret)
        self._version = version
        self._account: Any = account
        self._folder: Any = None
        self._lock = threading.Lock()

    # -- exchangelib plumbing ------------------------------------------------------------------

    def _get_account(self) -> Any:
        with self._lock:
            if self._account is None:
                self._account = self._build_account()
            return self._account

    def _build_account(self) -> Any:
        from exchangelib import (
            BASIC,
            DELEGATE,
            IMPERSONATION,
            NTLM,
            OAUTH2,
            Account,
            Build,
            Configuration,
            Credentials,
            FailFast,
            Identity,
            OAuth2Credentials,
            Version,
        )

        version = Version(build=Build(*self._version))
        access_type = DELEGATE
        credentials: Any
        if self._auth_type == "oauth":
            tenant_id, client_id, secret = self._oauth
            if not (tenant_id and client_id and secret):
                raise MailboxError(
                    "EWS OAuth needs GRAPH_TENANT_ID, GRAPH_CLIENT_ID and GRAPH_CLIENT_SECRET"
                )
            credentials = OAuth2Credentials(
                client_id=client_id,
                client_secret=secret,
                tenant_id=tenant_id,
                identity=Identity(primary_smtp_address=self._mailbox),
            )
            auth = OAUTH2
            access_type = IMPERSONATION
        else:
            credentials = Credentials(self._username, self._password or "")
            auth = NTLM if self._auth_type == "ntlm" else BASIC
        with _ews_errors("EWS connect"):
            if self._autodiscover and not self._endpoint:
                return Account(
                    primary_smtp_address=self._mailbox,
                    credentials=credentials,
                    autodiscover=True,
                    access_type=access_type,
                )
            if not self._endpoint:
                raise MailboxError("EWS_SERVICE_ENDPOINT is not set")
            config = Configuration(
                service_endpoint=self._endpoint,
                credentials=credentials,
                auth_type=auth,
                version=version,
                retry_policy=FailFast(),  # retries belong to the poller and the outbox
            )
            return Account(
                primary_smtp_address=self._mailbox,
                config=config,
                autodiscover=False,
                access_type=access_type,
            )

    def _processed_folder(self, account: Any) -> Any:
        if self._folder is None:
            from exchangelib import Q
            from exchangelib.folders import SHALLOW, FolderCollection

            with _ews_errors("EWS find processed folder"):
                # One shallow FindFolder by display name per parent, not ``parent.children``:
                # that walks and caches every folder in the mailbox (three large requests).
                # Lazily: the top of the store is only looked up when the inbox has no match.
                for parent in (getattr(account, name) for name in ("inbox", "msg_folder_root")):
                    found = FolderCollection(account=account, folders=[parent]).find_folders(
                        q=Q(name=self._processed), depth=SHALLOW
                    )
                    matches = [f for f in found if not isinstance(f, Exception)]
                    if matches:
                        self._folder = matches[0]
                        break
            if self._folder is None:
                raise MailboxError(f"EWS: processed folder {self._processed!r} not found")
        return self._folder

    # -- MailGateway ---------------------------------------------------------------------------

    def fetch_new(self) -> Iterator[InboundItem]:
        account = self._get_account()
        # With a processed folder, whatever is still in the inbox is unprocessed, read or not: a
        # person opening a message in Outlook must not hide it from the bot. Only when processed
        # mail stays in the inbox does "read" have to mean "processed".
        with _ews_errors("EWS list inbox"):
            inbox = account.inbox
            listing = inbox.filter(is_read=False) if not self._processed else inbox.all()
            ids = [
                (item.id, item.changekey)
                for item in listing.only("id", "changekey", "datetime_received").order_by(
                    "datetime_received"
                )
            ]
        log.info("EWS listing: %d message(s)", len(ids))
        for start in range(0, len(ids), 10):
            batch = ids[start : start + 10]
            with _ews_errors("EWS get MIME"):
                fetched = list(account.fetch(ids=batch, only_fields=["mime_content"]))
            for (item_id, _), item in zip(batch, fetched, strict=True):
                if isinstance(item, Exception):  # gone meanwhile
                    continue
                raw = item.mime_content
                if raw is None:
                    continue
                yield InboundItem(item_id=item_id, raw=bytes(raw))

    def mark_processed(self, item_id: str) -> None:
        account = self._get_account()
        # The folder first: when it is missing nothing changes and the message is listed again.
        target = self._processed_folder(account) if self._processed else None
        with _ews_errors("EWS mark processed"):
            (item,) = list(account.fetch(ids=[(item_id, None)], only_fields=["is_read"]))
            if isinstance(item, Exception):  # already moved (a move gives it a new id) or deleted
                return
            if not item.is_read:
                item.is_read = True
                item.save(update_fields=["is_read"])
            if target is not None:
                item.move(target)
        log.info("EWS item processed")

    def send(self, message: EmailMessage) -> str:
        from exchangelib import Message

        mid = ensure_message_id(message, self._mailbox)
        account = self._get_account()
        raw = message.as_bytes(policy=default.clone(linesep="\r\n"))
        with _ews_errors("EWS send"):
            message_item = Message(account=account, folder=account.sent, mime_content=raw)
        # Only the CreateItem that sends can leave the outcome unknown, not the folder lookups.
        with _ews_errors("EWS send"), _unanswered_is_unknown("EWS send"):
            message_item.send_and_save()
        log.info("EWS sent %s", mid)
        return mid

    def was_sent(self, message_id: str) -> bool:
        """Whether Sent Items holds a message with this Message-ID (``message:InternetMessageId``)."""
        account = self._get_account()
        with _ews_errors("EWS find in sent items"):
            return bool(account.sent.filter(message_id=message_id.strip()).exists())

    def check(self) -> list[str]:
        problems: list[str] = []
        if self._endpoint and is_exchange_online(self._endpoint):
            problems.append(EXCHANGE_ONLINE_WARNING)
        try:
            account = self._get_account()
            with _ews_errors("EWS read inbox"):
                list(account.inbox.all().only("id")[:1])
            with _ews_errors("EWS sent items"):
                # The dry run for sending: the Sent Items folder (where SendAndSaveCopy saves)
                # can be opened. EWS has no way to test a send without sending.
                _ = account.sent.id
            if self._processed:
                self._processed_folder(account)
        except MailboxError as exc:
            problems.append(str(exc) if str(exc).startswith("EWS") else f"EWS: {exc}")
        return problems


@contextlib.contextmanager
def _ews_errors(what: str) -> Iterator[None]:
    from exchangelib import errors as e

    try:
        yield
    except MailboxError:
        raise
    except e.UnauthorizedError:
        raise MailboxError(f"{what}: credentials rejected") from None
    except (e.ErrorAccessDenied, e.ErrorImpersonateUserDenied) as exc:
        raise MailboxError(f"{what}: missing permission ({type(exc).__name__})") from None
    except e.ErrorFolderNotFound:
        raise MailboxError(f"{what}: folder not found") from None
    except e.ErrorNonExistentMailbox:
        raise MailboxError(f"{what}: mailbox not found") from None
    except (
        e.ErrorServerBusy,
        e.ErrorTimeoutExpired,
        e.ErrorInternalServerTransientError,
        e.ErrorMailboxStoreUnavailable,
        e.ErrorConnectionFailed,
        e.RateLimitError,
    ) as exc:
        raise TransientMailboxError(
            f"{what}: server busy or unreachable ({type(exc).__name__})"
        ) from None
    except e.ResponseMessageError as exc:
        raise MailboxError(f"{what}: failed ({type(exc).__name__})") from None
    except e.TransportError as exc:
        if _tls_failure(exc):
            # exchangelib turns requests' SSLError into a bare TransportError; a certificate the
            # bot does not trust will not fix itself, so it is not transient.
            raise MailboxError(f"{what}: TLS certificate not trusted or TLS handshake failed") from None
        raise TransientMailboxError(f"{what}: endpoint unreachable ({type(exc).__name__})") from None
    except e.EWSError as exc:
        raise MailboxError(f"{what}: failed ({type(exc).__name__})") from None
    except OSError as exc:  # requests' ConnectionError and timeouts are OSErrors
        raise TransientMailboxError(f"{what}: endpoint unreachable ({type(exc).__name__})") from None


@contextlib.contextmanager
def _unanswered_is_unknown(what: str) -> Iterator[None]:
    """exchangelib turns every connection error into ErrorTimeoutExpired; the one it replaced says
    whether the request had gone whole: a read timeout or a connection dropped while the answer
    was awaited (urllib3's ProtocolError, "Connection aborted") leaves the send's outcome unknown.
    A refused connection or a connect timeout sent nothing."""
    import requests
    from exchangelib import errors as e
    from urllib3.exceptions import ProtocolError

    try:
        yield
    except e.ErrorTimeoutExpired as exc:
        cause = exc.__context__
        aborted = (
            isinstance(cause, requests.exceptions.ConnectionError)
            and not isinstance(cause, requests.exceptions.ConnectTimeout)
            and any(isinstance(arg, ProtocolError) for arg in cause.args)
        )
        if aborted or isinstance(cause, (requests.exceptions.ReadTimeout,
                                         requests.exceptions.ChunkedEncodingError)):
            raise SendOutcomeUnknown(
                f"{what}: no answer after the request went ({type(cause).__name__})"
            ) from None
        raise


def _tls_failure(exc: BaseException) -> bool:
    import requests

    return isinstance(exc.__context__, requests.exceptions.SSLError)
