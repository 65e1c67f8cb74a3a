"""Microsoft Graph gateway (Exchange Online): httpx + msal, app-only (client credentials).

* Intake is a delta query on the inbox. The state file holds the delta link and the ids that are
  still pending (listed but not yet marked processed), so a listing that is not followed by
  :meth:`mark_processed` is listed again, even across a restart. HTTP 410 (sync state gone) starts
  a full resync, which rebuilds the pending set from what is in the inbox.
* Ids are immutable (``Prefer: IdType="ImmutableId"``) so an id survives the move.
* Raw MIME comes from ``/messages/{id}/$value``.
* Processed: ``PATCH isRead`` then ``move`` to the processed folder (looked up by display name at
  the top level, then under the inbox). With an empty processed folder setting, only ``isRead``
  is set and the inbox listing skips read items.
* Send: the MIME itself, base64, to ``/sendMail`` (``Content-Type: text/plain``), so Message-ID,
  In-Reply-To and References survive. Messages over ``large_message_bytes`` go as a draft created
  from MIME without the big attachments, which are then uploaded with ``createUploadSession``, and
  the draft is sent.
* ``Retry-After`` is honoured on 429 and 503 (the sleep is injectable); after ``max_retries`` the
  call fails with :class:`TransientMailboxError`.
* A send whose request went out whole but got no answer (read timeout, connection dropped while
  waiting, 504) raises :class:`SendOutcomeUnknown` and is never retried here: Graph may have
  taken it. :meth:`GraphMailGateway.was_sent` then looks for it in Sent Items by
  ``internetMessageId``, which Exchange takes from the MIME's Message-ID; sendMail files a copy
  there (it saves to Sent Items by default), usually within seconds, so a copy not found within
  ``sent_copy_lag`` (10 minutes) of the attempt is taken as not sent.

The token and the reading of HTTP answers are in :mod:`bot.mail.graph_client`.
"""

from __future__ import annotations

import base64
import copy
import logging
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from bot.mail.gateway import (
    InboundItem,
    MailboxError,
    SendOutcomeUnknown,
    TransientMailboxError,
    ensure_message_id,
)
from bot.mail.graph_client import TokenProvider, graph_error, retry_after, token_roles
from bot.mail.state import read_json_state, write_json_state

log = logging.getLogger(__name__)

#: Graph accepts request bodies up to 4 MB; base64 grows MIME by a third.
LARGE_MESSAGE_BYTES = 3 * 1024 * 1024
UPLOAD_CHUNK_BYTES = 4 * 320 * 1024  # upload ranges must be multiples of 320 KiB
#: How long Exchange may take to file a sent message in Sent Items. It is seconds in practice;
#: ten minutes leaves room for a busy tenant and delays only a message whose send went unanswered.
SENT_COPY_LAG = timedelta(minutes=10)
#: Failures that leave a request written but unanswered: it may have been carried out.
_UNANSWERED = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)


class GraphMailGateway:
    def __init__(
        self,
        *,
        mailbox: str,
        token_provider: TokenProvider,
        state_path: Path,
        base_url: str = "https://graph.microsoft.com/v1.0",
        processed_folder: str = "Processed",
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 5,
        timeout: float = 60.0,
        large_message_bytes: int = LARGE_MESSAGE_BYTES,
        upload_chunk_bytes: int = UPLOAD_CHUNK_BYTES,
        sent_copy_lag: timedelta = SENT_COPY_LAG,
    ) -> None:
        self.name = f"graph:{mailbox}"
        self.sent_copy_lag = sent_copy_lag
        self._mailbox = mailbox
        self._user = f"{base_url.rstrip('/')}/users/{quote(mailbox, safe='@')}"
        self._token = token_provider
        self._state_path = state_path
        self._processed = processed_folder
        self._client = client or httpx.Client(timeout=timeout)
        self._sleep = sleep
        self._max_retries = max_retries
        self._large = large_message_bytes
        self._chunk = upload_chunk_bytes
        self._folder_id: str | None = None

    # -- HTTP ----------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        url: str,
        what: str,
        *,
        auth: bool = True,
        allow: tuple[int, ...] = (),
        delivers: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """One Graph call, retried on throttling. ``delivers``: the call sends mail, so an
        unanswered request raises :class:`SendOutcomeUnknown` rather than a retryable error."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if auth:
            headers["Authorization"] = f"Bearer {self._token()}"
            headers["Prefer"] = 'IdType="ImmutableId"'
        attempt = 0
        while True:
            try:
                response = self._client.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                if delivers and isinstance(exc, _UNANSWERED):
                    raise SendOutcomeUnknown(
                        f"Graph {what}: no answer after the request went ({type(exc).__name__})"
                    ) from None
                if isinstance(exc, httpx.TimeoutException):
                    raise TransientMailboxError(f"Graph {what}: timed out") from None
                raise TransientMailboxError(
                    f"Graph {what}: endpoint unreachable: {type(exc).__name__}"
                ) from None
            if delivers and response.status_code == 504:
                # A gateway timeout: the request reached Graph, which may still carry it out.
                raise SendOutcomeUnknown(f"Graph {what}: gateway timeout (504) after the request went")
            if response.status_code in (429, 503, 504) and attempt < self._max_retries:
                attempt += 1
                delay = retry_after(response.headers.get("Retry-After"), attempt)
                log.info("Graph %s throttled (%d); retry in %.1fs", what, response.status_code, delay)
                self._sleep(delay)
                continue
            if response.status_code in allow:
                return response
            if response.status_code >= 400:
                raise graph_error(what, response)
            return response

    # -- state ---------------------------------------------------------------------------------

    def _load(self) -> tuple[str | None, dict[str, str]]:
        state = read_json_state(self._state_path)
        pending = state.get("pending") or {}
        return state.get("delta_link"), {str(k): str(v) for k, v in dict(pending).items()}

    def _save(self, delta_link: str | None, pending: dict[str, str]) -> None:
        write_json_state(self._state_path, {"delta_link": delta_link, "pending": pending})

    # -- intake --------------------------------------------------------------------------------

    def _delta(self, delta_link: str | None) -> tuple[str, dict[str, str], set[str], bool]:
        """Run a delta round: (new delta link, added/changed id->received, removed ids, full)."""
        full = delta_link is None
        url = delta_link or (
            f"{self._user}/mailFolders/inbox/messages/delta"
            "?$select=id,receivedDateTime,isRead"
        )
        seen: dict[str, str] = {}
        removed: set[str] = set()
        while True:
            response = self._request("GET", url, "delta query", allow=(410,))
            if response.status_code == 410:
                log.warning("Graph delta state expired (410); full resync")
                return self._delta(None)
            body = response.json()
            for entry in body.get("value", []):
                item_id = str(entry.get("id", ""))
                if not item_id:
                    continue
                if "@removed" in entry:
                    removed.add(item_id)
                    seen.pop(item_id, None)
                elif not self._processed and entry.get("isRead") is True:
                    removed.add(item_id)  # mark-read-only mode: read means done
                else:
                    seen[item_id] = str(entry.get("receivedDateTime", ""))
                    removed.discard(item_id)
            if "@odata.nextLink" in body:
                url = body["@odata.nextLink"]
                continue
            if "@odata.deltaLink" in body:
                return body["@odata.deltaLink"], seen, removed, full
            raise MailboxError("Graph delta query: response had neither nextLink nor deltaLink")

    def fetch_new(self) -> Iterator[InboundItem]:
        delta_link, pending = self._load()
        new_link, seen, removed, full = self._delta(delta_link)
        if full:
            pending = seen
        else:
            for item_id in removed:
                pending.pop(item_id, None)
            for item_id, received in seen.items():
                pending.setdefault(item_id, received)
        self._save(new_link, pending)
        log.info("Graph listing: %d pending message(s)", len(pending))
        for item_id, _ in sorted(pending.items(), key=lambda kv: (kv[1], kv[0])):
            response = self._request(
                "GET", f"{self._user}/messages/{item_id}/$value", "get MIME", allow=(404,)
            )
            if response.status_code == 404:  # gone meanwhile
                self._forget(item_id)
                continue
            yield InboundItem(item_id=item_id, raw=response.content)

    def _forget(self, item_id: str) -> None:
        delta_link, pending = self._load()
        if pending.pop(item_id, None) is not None:
            self._save(delta_link, pending)

    def _processed_folder_id(self) -> str:
        if self._folder_id is None:
            name = self._processed.replace("'", "''")
            query = f"?$filter=displayName eq '{name}'&$select=id,displayName"
            for parent in ("mailFolders", "mailFolders/inbox/childFolders"):
                response = self._request(
                    "GET", f"{self._user}/{parent}{query}", "find processed folder"
                )
                found = response.json().get("value", [])
                if found:
                    self._folder_id = str(found[0]["id"])
                    break
            else:
                raise MailboxError(f"Graph: processed folder {self._processed!r} not found")
        return self._folder_id

    def mark_processed(self, item_id: str) -> None:
        url = f"{self._user}/messages/{item_id}"
        response = self._request(
            "PATCH", url, "mark read", allow=(404,), json={"isRead": True}
        )
        if response.status_code != 404 and self._processed:
            folder_id = self._processed_folder_id()
            if response.json().get("parentFolderId") != folder_id:
                self._request(
                    "POST", f"{url}/move", "move", allow=(404,), json={"destinationId": folder_id}
                )
        self._forget(item_id)
        log.info("Graph item %s processed", item_id)

    # -- sending -------------------------------------------------------------------------------

    def send(self, message: EmailMessage) -> str:
        mid = ensure_message_id(message, self._mailbox)
        raw = message.as_bytes(policy=default.clone(linesep="\r\n"))
        if len(raw) <= self._large:
            self._request(
                "POST",
                f"{self._user}/sendMail",
                "send",
                delivers=True,
                content=base64.b64encode(raw),
                headers={"Content-Type": "text/plain"},
            )
        else:
            self._send_large(message)
        log.info("Graph sent %s", mid)
        return mid

    def _send_large(self, message: EmailMessage) -> None:
        slim, big = _split_attachments(message, self._large)
        raw = slim.as_bytes(policy=default.clone(linesep="\r\n"))
        draft = self._request(
            "POST",
            f"{self._user}/messages",
            "create draft",
            content=base64.b64encode(raw),
            headers={"Content-Type": "text/plain"},
        ).json()
        draft_id = str(draft["id"])
        for part in big:
            payload = part.get_payload(decode=True) or b""
            assert isinstance(payload, bytes)
            session = self._request(
                "POST",
                f"{self._user}/messages/{draft_id}/attachments/createUploadSession",
                "create upload session",
                json={
                    "AttachmentItem": {
                        "attachmentType": "file",
                        "name": part.get_filename() or "attachment",
                        "size": len(payload),
                        "contentType": part.get_content_type(),
                        "isInline": False,
                    }
                },
            ).json()
            upload_url = str(session["uploadUrl"])
            for start in range(0, max(len(payload), 1), self._chunk):
                chunk = payload[start : start + self._chunk]
                end = start + len(chunk) - 1
                # The upload URL carries its own authorisation: no bearer token on these PUTs.
                self._request(
                    "PUT",
                    upload_url,
                    "upload attachment",
                    auth=False,
                    content=chunk,
                    headers={
                        "Content-Range": f"bytes {start}-{end}/{len(payload)}",
                        "Content-Type": "application/octet-stream",
                    },
                )
        self._request("POST", f"{self._user}/messages/{draft_id}/send", "send draft", delivers=True)

    def was_sent(self, message_id: str) -> bool:
        """Whether Sent Items holds a message with this Message-ID (``internetMessageId``).

        The id goes in an OData string literal (a quote doubled) and the whole filter is
        percent-encoded: an id's ``<``, ``>``, ``@`` or ``+`` left bare makes Graph find nothing."""
        literal = message_id.strip().replace("'", "''")
        query = quote(f"internetMessageId eq '{literal}'", safe="")
        response = self._request(
            "GET",
            f"{self._user}/mailFolders/sentitems/messages?$filter={query}&$select=id&$top=1",
            "find in sent items",
        )
        return bool(response.json().get("value"))

    # -- check ---------------------------------------------------------------------------------

    def check(self) -> list[str]:
        problems: list[str] = []
        try:
            token = self._token()
        except MailboxError as exc:
            return [str(exc)]
        roles = token_roles(token)
        if roles is not None:
            for role in ("Mail.ReadWrite", "Mail.Send"):
                if role not in roles:
                    problems.append(
                        f"Graph: the app has no {role} application permission (admin consent)"
                    )
        try:
            self._request(
                "GET", f"{self._user}/mailFolders/inbox/messages?$top=1&$select=id", "read inbox"
            )
        except MailboxError as exc:
            problems.append(str(exc))
            return problems
        if self._processed:
            try:
                self._processed_folder_id()
            except MailboxError as exc:
                problems.append(str(exc))
        return problems


def _split_attachments(
    message: EmailMessage, limit: int
) -> tuple[EmailMessage, list[EmailMessage]]:
    """A copy of ``message`` without its largest attachments (until it fits), and those parts."""
    slim = message_from_bytes(message.as_bytes(), policy=default)
    assert isinstance(slim, EmailMessage)
    removed: list[EmailMessage] = []
    if not slim.is_multipart():
        return slim, removed
    parts = [p for p in slim.iter_attachments() if isinstance(p, EmailMessage)]
    parts.sort(key=lambda p: len(p.as_bytes()), reverse=True)
    for part in parts:
        if len(slim.as_bytes()) <= limit:
            break
        payload = slim.get_payload()
        assert isinstance(payload, list)
        slim.set_payload([p for p in payload if p is not part])
        removed.append(copy.copy(part))
    return slim, removed
