"""A small in-memory fake of the Microsoft Graph mail endpoints, served through httpx.MockTransport.

It behaves like Graph where the gateway depends on it: delta paging (``@odata.nextLink`` pages,
then ``@odata.deltaLink``; later rounds return only changes, ``@removed`` for items that left the
inbox; expired tokens answer 410), raw MIME through ``$value``, ``PATCH isRead``, ``move``,
``sendMail`` with base64 MIME, drafts from MIME plus ``createUploadSession`` uploads, and throttling
(429 with ``Retry-After``). Bearer token and ``Prefer: IdType="ImmutableId"`` are checked.

A sent message is filed in Sent Items (folder ``sentitems``) with its MIME Message-ID as
``internetMessageId``, as Exchange does; with :attr:`FakeGraph.filing_delayed` the copies wait
until :meth:`FakeGraph.file_sent_items` (Exchange files them after the send, usually within
seconds). ``GET /mailFolders/sentitems/messages`` answers ``$filter=internetMessageId eq '...'``
(an OData string literal, read from the decoded query as a server reads it; anything else in the
filter is a 400). :meth:`FakeGraph.lose_answer` makes the next call to a path be carried out (or
not) and its answer lost: a timeout, a dropped connection or a 504.
"""

from __future__ import annotations

import base64
import email
import json
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

BASE = "https://graph.test/v1.0"
MAILBOX = "reviews@partnership.example"
TOKEN = "fake-token"
UPLOAD_HOST = "https://upload.graph.test"


@dataclass
class FakeMessage:
    id: str
    raw: bytes
    folder: str
    received: str
    is_read: bool = False
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


@dataclass
class LostAnswer:
    """The next call to ``path`` loses its answer: ``exception`` is raised or ``status`` answered,
    after carrying the call out when ``carried_out``."""

    path: str
    exception: Exception | None = None
    status: int | None = None
    carried_out: bool = True


class FakeGraph:
    def __init__(self, page_size: int = 2) -> None:
        self.page_size = page_size
        self.messages: dict[str, FakeMessage] = {}
        self.folders = {"inbox": "Inbox", "folder-processed": "Processed"}
        self.log: list[tuple[int, str]] = []  # (seq, message id) of every change
        self.seq = 0
        self.expired_tokens: set[str] = set()
        self.sent: list[EmailMessage] = []
        self.requests: list[httpx.Request] = []
        self.throttle_queue: list[tuple[int, str | None]] = []
        self.forbidden = False
        self.uploads: dict[str, dict[str, Any]] = {}
        self.max_body = 4 * 1024 * 1024
        self.lost_answers: list[LostAnswer] = []
        #: While True, sent messages wait in :attr:`unfiled` instead of Sent Items.
        self.filing_delayed = False
        self.unfiled: list[FakeMessage] = []
        self._n = 0

    # -- test helpers ------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def deliver(self, raw: bytes) -> str:
        self._n += 1
        mid = f"AAMkImmutable{self._n:04d}="
        received = f"2026-11-22T08:{self._n // 60:02d}:{self._n % 60:02d}Z"
        self.messages[mid] = FakeMessage(mid, raw, "inbox", received)
        self._touch(mid)
        return mid

    def throttle(self, times: int, retry_after: str | None = "7", status: int = 429) -> None:
        self.throttle_queue.extend([(status, retry_after)] * times)

    def lose_answer(
        self, path: str, *, exception: Exception | None = None, status: int | None = None,
        carried_out: bool = True,
    ) -> None:
        self.lost_answers.append(LostAnswer(path, exception, status, carried_out))

    def file_sent_items(self) -> None:
        for msg in self.unfiled:
            self.messages[msg.id] = msg
        self.unfiled.clear()

    def in_folder(self, folder: str) -> list[FakeMessage]:
        return [m for m in self.messages.values() if m.folder == folder]

    def _touch(self, mid: str) -> None:
        self.seq += 1
        self.log.append((self.seq, mid))

    # -- HTTP ----------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if url.startswith(UPLOAD_HOST):
            return self._upload(request)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _error(401, "InvalidAuthenticationToken")
        if request.headers.get("Prefer") != 'IdType="ImmutableId"':
            return _error(400, "TestExpectedImmutableIds")
        if self.throttle_queue:
            status, retry_after = self.throttle_queue.pop(0)
            headers = {"Retry-After": retry_after} if retry_after else {}
            return httpx.Response(status, headers=headers, json={"error": {"code": "Throttled"}})
        if self.forbidden:
            return _error(403, "ErrorAccessDenied")
        parts = urlsplit(url)
        prefix = urlsplit(f"{BASE}/users/{MAILBOX}").path
        path = unquote(parts.path)
        if not path.startswith(prefix):
            return _error(404, "ErrorInvalidUser")
        path = path[len(prefix) :]
        query = parse_qs(parts.query)
        lost = next((x for x in self.lost_answers if x.path == path), None)
        if lost is None:
            return self._route(request, path, query)
        self.lost_answers.remove(lost)
        if lost.carried_out:
            self._route(request, path, query)
        if lost.exception is not None:
            raise lost.exception
        return _error(lost.status or 504, "GatewayTimeout")

    def _route(self, request: httpx.Request, path: str, query: dict[str, list[str]]) -> httpx.Response:
        m = request.method
        if m == "GET" and path == "/mailFolders/inbox/messages/delta":
            return self._delta(query)
        if m == "GET" and path == "/mailFolders/inbox/messages":
            inbox = self.in_folder("inbox")[:1]
            return httpx.Response(200, json={"value": [{"id": x.id} for x in inbox]})
        if m == "GET" and path in ("/mailFolders", "/mailFolders/inbox/childFolders"):
            wanted = re.search(r"displayName eq '((?:[^']|'')*)'", query.get("$filter", [""])[0])
            name = wanted.group(1).replace("''", "'") if wanted else None
            found = [
                {"id": fid, "displayName": n}
                for fid, n in self.folders.items()
                if path == "/mailFolders" and fid != "inbox" and (name is None or n == name)
            ]
            return httpx.Response(200, json={"value": found})
        if m == "POST" and path == "/sendMail":
            if request.headers.get("Content-Type") != "text/plain":
                return _error(400, "ErrorMimeContentInvalid")
            if len(request.content) > self.max_body:
                return _error(413, "RequestEntityTooLarge")
            raw = base64.b64decode(request.content)
            self.sent.append(_parse(raw))
            self._file(raw)
            return httpx.Response(202)
        if m == "GET" and path == "/mailFolders/sentitems/messages":
            return self._find_sent(query)
        if m == "POST" and path == "/messages":
            self._n += 1
            did = f"AAMkDraft{self._n:04d}="
            self.messages[did] = FakeMessage(did, base64.b64decode(request.content), "drafts", "")
            return httpx.Response(201, json={"id": did})
        match = re.fullmatch(r"/messages/([^/]+)(/.*)?", path)
        if not match:
            return _error(404, "ResourceNotFound")
        mid, rest = match.group(1), match.group(2) or ""
        msg = self.messages.get(mid)
        if msg is None:
            return _error(404, "ErrorItemNotFound")
        if m == "GET" and rest == "/$value":
            return httpx.Response(200, content=msg.raw, headers={"Content-Type": "text/plain"})
        if m == "PATCH" and rest == "":
            body = json.loads(request.content)
            if "isRead" in body and body["isRead"] != msg.is_read:
                msg.is_read = bool(body["isRead"])
                self._touch(mid)
            return httpx.Response(200, json=_resource(msg))
        if m == "POST" and rest == "/move":
            dest = json.loads(request.content)["destinationId"]
            if dest not in self.folders:
                return _error(404, "ErrorFolderNotFound")
            if msg.folder != dest:
                msg.folder = dest
                self._touch(mid)
            return httpx.Response(201, json=_resource(msg))
        if m == "POST" and rest == "/attachments/createUploadSession":
            item = json.loads(request.content)["AttachmentItem"]
            sid = f"s{len(self.uploads) + 1}"
            self.uploads[sid] = {"draft": mid, "item": item, "data": bytearray()}
            return httpx.Response(201, json={"uploadUrl": f"{UPLOAD_HOST}/sessions/{sid}"})
        if m == "POST" and rest == "/send":
            sent = _parse(msg.raw)
            for name, ctype, data in msg.attachments:
                maintype, _, subtype = ctype.partition("/")
                sent.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
            self.sent.append(sent)
            del self.messages[mid]
            self._file(sent.as_bytes())
            return httpx.Response(202)
        return _error(405, "MethodNotAllowed")

    def _file(self, raw: bytes) -> None:
        self._n += 1
        copy = FakeMessage(f"AAMkSent{self._n:04d}=", raw, "sentitems", "", is_read=True)
        if self.filing_delayed:
            self.unfiled.append(copy)
        else:
            self.messages[copy.id] = copy

    def _find_sent(self, query: dict[str, list[str]]) -> httpx.Response:
        wanted = re.fullmatch(r"internetMessageId eq '((?:[^']|'')*)'", query.get("$filter", [""])[0])
        if wanted is None or query.get("$select") != ["id"]:
            return _error(400, "BadRequest")
        mid = wanted.group(1).replace("''", "'")
        found = [x for x in self.in_folder("sentitems") if _parse(x.raw)["Message-ID"] == mid]
        top = int(query.get("$top", ["10"])[0])
        return httpx.Response(200, json={"value": [{"id": x.id} for x in found[:top]]})

    def _delta(self, query: dict[str, list[str]]) -> httpx.Response:
        url = f"{BASE}/users/{MAILBOX}/mailFolders/inbox/messages/delta"
        if "$deltatoken" in query:
            token = query["$deltatoken"][0]
            if token in self.expired_tokens:
                return _error(410, "SyncStateNotFound")
            since = int(token)
            changed = [mid for seq, mid in self.log if seq > since]
            ids = list(dict.fromkeys(changed))
            entries = []
            for mid in ids:
                msg = self.messages.get(mid)
                if msg is None or msg.folder != "inbox":
                    entries.append({"id": mid, "@removed": {"reason": "deleted"}})
                else:
                    entries.append(_resource(msg))
            return httpx.Response(
                200, json={"value": entries, "@odata.deltaLink": f"{url}?$deltatoken={self.seq}"}
            )
        skip = int(query.get("$skiptoken", ["0"])[0])
        inbox = sorted(self.in_folder("inbox"), key=lambda x: x.id, reverse=True)  # any order
        page = inbox[skip : skip + self.page_size]
        body: dict[str, Any] = {"value": [_resource(x) for x in page]}
        if skip + self.page_size < len(inbox):
            body["@odata.nextLink"] = f"{url}?$skiptoken={skip + self.page_size}"
        else:
            body["@odata.deltaLink"] = f"{url}?$deltatoken={self.seq}"
        return httpx.Response(200, json=body)

    def _upload(self, request: httpx.Request) -> httpx.Response:
        if "Authorization" in request.headers:
            return _error(401, "UploadUrlMustNotCarryToken")
        sid = request.url.path.rsplit("/", 1)[1]
        session = self.uploads[sid]
        rng = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", request.headers["Content-Range"])
        assert rng, request.headers["Content-Range"]
        start, end, total = (int(g) for g in rng.groups())
        assert start == len(session["data"]) and end - start + 1 == len(request.content)
        session["data"].extend(request.content)
        if len(session["data"]) < total:
            return httpx.Response(200, json={"nextExpectedRanges": [f"{end + 1}-"]})
        item = session["item"]
        assert item["size"] == total
        self.messages[session["draft"]].attachments.append(
            (item["name"], item["contentType"], bytes(session["data"]))
        )
        return httpx.Response(201)


def _resource(msg: FakeMessage) -> dict[str, Any]:
    return {
        "id": msg.id,
        "receivedDateTime": msg.received,
        "isRead": msg.is_read,
        "parentFolderId": msg.folder,
    }


def _error(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": "fake"}})


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed
