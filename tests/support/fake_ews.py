"""A small stateful fake of an on-premises Exchange 2016/2019 EWS endpoint, at the HTTP level.

exchangelib talks to EWS through ``requests``, so the fake is a ``responses`` callback on the one
service endpoint: it reads the SOAP request, dispatches on the operation element in the body and
answers with the SOAP envelope Exchange 2016 (build 15.1) writes, ``ServerVersionInfo`` header
included. Nothing else is registered, so an autodiscover lookup or any other URL fails the test
with a ``ConnectionError`` from ``responses``.

What it understands, enough for the gateway and checked strictly so a change in what exchangelib
sends shows up here instead of passing silently:

* HTTP Basic authentication (wrong or missing credentials: 401 with ``WWW-Authenticate``, as IIS
  answers). NTLM is not faked: requests_ntlm reads the server certificate from the real socket
  for channel binding, which ``responses`` does not have.
* ``GetFolder`` by ``DistinguishedFolderId`` (with the mailbox) or ``FolderId``; unknown ones
  answer ``ErrorFolderNotFound`` per response message, as Exchange does for a batch.
* ``FindFolder`` (Shallow or Deep, restrictions on the display name).
* ``FindItem`` (Shallow, ``IndexedPageItemView`` paging, ``IsEqualTo``/``IsNotEqualTo``/``And``/
  ``Or``/``Not`` restrictions on ``message:IsRead`` and ``message:InternetMessageId`` (the MIME's
  Message-ID, compared without regard to case as Exchange compares strings), sort on
  ``item:DateTimeReceived``).
* ``GetItem`` (``item:MimeContent`` base64, ``message:IsRead``, ``item:DateTimeReceived``;
  ``ErrorItemNotFound`` for ids that are gone).
* ``UpdateItem`` (``SetItemField message:IsRead``; a stale ChangeKey with ``NeverOverwrite``
  answers ``ErrorIrresolvableConflict``).
* ``MoveItem`` (the item gets a new id, as EWS ids change when an item changes folder; the old id
  is then ``ErrorItemNotFound``).
* ``CreateItem`` from ``MimeContent`` with ``SaveOnly``, ``SendOnly`` or ``SendAndSaveCopy``
  (sent MIME recorded in :attr:`FakeEws.sent`, the copy saved to ``SavedItemFolderId``).
* Faults on demand: :meth:`FakeEws.fail_next` with an HTTP status, a raised ``requests`` error
  (connection refused, TLS failure) or a SOAP fault such as ``ErrorServerBusy``;
  :attr:`FakeEws.denied` answers chosen operations with ``ErrorAccessDenied``;
  :attr:`FakeEws.create_error` makes CreateItem refuse to send (e.g. a size limit);
  :meth:`FakeEws.lose_answer` carries out the next request of one operation (or not) and then
  loses its answer (a read timeout, a dropped connection).

Any other operation, field or restriction raises :class:`UnsupportedRequest`, which reaches the
test as it is (exchangelib re-raises unknown errors from the transport).

One simplification: GetItem hands back the MIME exactly as delivered. A real server regenerates
MIME from the stored item (content conversion) and may refold headers or re-encode parts; the
intake does not depend on byte identity.

The operations are in :mod:`tests.support.ews_operations`, the SOAP in :mod:`tests.support.ews_soap`.
"""

from __future__ import annotations

import base64
import itertools
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests
import responses

from tests.support.ews_operations import EwsOperations, FakeFolder, FakeItem
from tests.support.ews_soap import (
    ACCEPTED_VERSIONS,
    NS,
    UnsupportedRequest,
    envelope,
    error_message,
    local_name,
    soap_fault,
    xml_headers,
)

ENDPOINT = "https://mail.council.test/EWS/Exchange.asmx"
MAILBOX = "reviews@partnership.example"
USERNAME = "COUNCIL\\svc-reviews"
PASSWORD = "ews-pw"


@dataclass
class Fault:
    """One scripted failure for the next request."""

    status: int = 200
    exception: Exception | None = None
    soap_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Only for :meth:`FakeEws.lose_answer`: the operation it waits for, and whether it is
    #: carried out before its answer is lost.
    operation: str | None = None
    carried_out: bool = True


class FakeEws(EwsOperations):
    def __init__(self, *, processed_parent: str | None = "inbox", processed_name: str = "Processed") -> None:
        self.credentials = (USERNAME, PASSWORD)
        self.folders: dict[str, FakeFolder] = {}
        self.items: dict[str, FakeItem] = {}
        #: Raw MIME of every message sent (SendOnly / SendAndSaveCopy), in order.
        self.sent: list[bytes] = []
        #: The SOAP operation of every request that reached the fake, in order.
        self.operations: list[str] = []
        #: Every HTTP request, authenticated or not.
        self.requests: list[requests.PreparedRequest] = []
        self.faults: list[Fault] = []
        #: Operations answered with ``ErrorAccessDenied`` (the account lacks rights on the mailbox).
        self.denied: set[str] = set()
        #: When set, CreateItem answers this error code instead of sending (e.g. a size limit).
        self.create_error: str | None = None
        self._ids = itertools.count(1)
        self._clock = datetime(2026, 11, 19, 9, 0, 0, tzinfo=UTC)
        self._build_hierarchy(processed_parent, processed_name)

    # -- test helpers ------------------------------------------------------------------------

    def install(self, mock: responses.RequestsMock) -> None:
        mock.add_callback(responses.POST, ENDPOINT, callback=self._callback)

    def deliver(self, raw: bytes, *, folder: str = "inbox", is_read: bool = False) -> str:
        """A message arrives: each one a second after the one before."""
        self._clock += timedelta(seconds=1)
        item = FakeItem(self._new_id("item"), self.by_distinguished(folder).id, raw, self._clock, is_read)
        self.items[item.id] = item
        return item.id

    def fail_next(
        self,
        *,
        status: int = 200,
        exception: Exception | None = None,
        soap_code: str | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        fault = Fault(status=status, exception=exception, soap_code=soap_code, headers=headers or {})
        self.faults.extend([fault] * times)

    def lose_answer(
        self, operation: str, *, exception: Exception | None = None, status: int = 504,
        carried_out: bool = True,
    ) -> None:
        """The next ``operation`` request is carried out (when ``carried_out``) and its answer
        lost: ``exception`` is raised, or else ``status`` is answered."""
        self.faults.append(Fault(status=status, exception=exception, operation=operation,
                                 carried_out=carried_out))

    def by_distinguished(self, name: str) -> FakeFolder:
        return next(f for f in self.folders.values() if f.distinguished == name)

    def folder_named(self, name: str) -> FakeFolder:
        return next(f for f in self.folders.values() if f.name == name)

    def in_folder(self, folder: FakeFolder) -> list[FakeItem]:
        return sorted((i for i in self.items.values() if i.folder == folder.id), key=lambda i: i.received)

    # -- the mailbox -------------------------------------------------------------------------

    def _new_id(self, kind: str) -> str:
        # Real ids are long base64 store entry ids; these have the same alphabet and padding.
        return base64.b64encode(f"AAMkAD{kind}{next(self._ids):08d}fake".encode()).decode()

    def _build_hierarchy(self, processed_parent: str | None, processed_name: str) -> None:
        def add(name: str, cls: str | None, parent: str | None, dist: str | None, tag: str = "Folder") -> str:
            folder = FakeFolder(self._new_id("folder"), name, cls, parent, dist, tag)
            self.folders[folder.id] = folder
            return folder.id

        root = add("", None, None, "root")
        top = add("Top of Information Store", "IPF.Note", root, "msgfolderroot")
        inbox = add("Inbox", "IPF.Note", top, "inbox")
        for name, dist in (("Sent Items", "sentitems"), ("Drafts", "drafts"),
                           ("Deleted Items", "deleteditems"), ("Outbox", "outbox"),
                           ("Junk Email", "junkemail")):
            add(name, "IPF.Note", top, dist)
        add("Calendar", "IPF.Appointment", top, "calendar", "CalendarFolder")
        add("Contacts", "IPF.Contact", top, "contacts", "ContactsFolder")
        add("Tasks", "IPF.Task", top, "tasks", "TasksFolder")
        add("Notes", "IPF.StickyNote", top, "notes")
        add("Journal", "IPF.Journal", top, "journal")
        add("Recoverable Items", None, root, "recoverableitemsroot")
        if processed_parent is not None:
            parent = inbox if processed_parent == "inbox" else top
            add(processed_name, "IPF.Note", parent, None)

    # -- HTTP --------------------------------------------------------------------------------

    def _callback(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        self.requests.append(request)
        fault = next((f for f in self.faults if f.operation is None), None)
        if fault is not None:
            self.faults.remove(fault)
            if fault.exception is not None:
                raise fault.exception
            if fault.soap_code is not None:
                return 500, xml_headers(), soap_fault(fault.soap_code)
            return fault.status, fault.headers, f"<html><body>HTTP {fault.status}</body></html>"
        if not self._authorized(request.headers.get("Authorization", "")):
            return 401, {
                "WWW-Authenticate": 'Basic realm="mail.council.test"',
                "Content-Type": "text/html",
            }, "<html><head><title>401 - Unauthorized: Access is denied</title></head></html>"
        if request.headers.get("Content-Type", "").split(";")[0] != "text/xml":
            raise UnsupportedRequest(f"EWS wants text/xml, got {request.headers.get('Content-Type')!r}")
        body = request.body
        root = ET.fromstring(body if isinstance(body, bytes) else str(body).encode())
        version = root.find("s:Header/t:RequestServerVersion", NS)
        if version is None or version.get("Version") not in ACCEPTED_VERSIONS:
            raise UnsupportedRequest("RequestServerVersion missing or not an Exchange 2016 schema")
        (operation,) = list(root.find("s:Body", NS) or [])
        name = local_name(operation.tag)
        self.operations.append(name)
        handler: Callable[[ET.Element], str] | None = getattr(self, f"_op_{name}", None)
        if handler is None:
            raise UnsupportedRequest(f"EWS operation {name} is not modelled by the fake")
        if name in self.denied:
            return 200, xml_headers(), envelope(name, error_message(name, "ErrorAccessDenied"))
        lost = next((f for f in self.faults if f.operation == name), None)
        if lost is not None:
            self.faults.remove(lost)
            if lost.carried_out:
                handler(operation)
            if lost.exception is not None:
                raise lost.exception
            return lost.status, {"Content-Type": "text/html"}, f"<html><body>HTTP {lost.status}</body></html>"
        return 200, xml_headers(), envelope(name, handler(operation))

    def _authorized(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme != "Basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        return (user, password) == self.credentials

    # -- folders -----------------------------------------------------------------------------

    def _resolve_folder(self, elem: ET.Element) -> FakeFolder | str:
        """The folder an id element names, or the EWS error code."""
        if local_name(elem.tag) == "DistinguishedFolderId":
            address = elem.find("t:Mailbox/t:EmailAddress", NS)
            if address is not None and (address.text or "").lower() != MAILBOX:
                return "ErrorNonExistentMailbox"
            found = [f for f in self.folders.values() if f.distinguished == elem.get("Id")]
            return found[0] if found else "ErrorFolderNotFound"
        if local_name(elem.tag) == "FolderId":
            folder = self.folders.get(elem.get("Id", ""))
            return folder if folder else "ErrorFolderNotFound"
        raise UnsupportedRequest(f"folder id element {elem.tag}")
