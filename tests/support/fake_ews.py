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
  ``Or``/``Not`` restrictions on ``message:IsRead``, sort on ``item:DateTimeReceived``).
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
  :attr:`FakeEws.create_error` makes CreateItem refuse to send (e.g. a size limit).

Any other operation, field or restriction raises :class:`UnsupportedRequest`, which reaches the
test as it is (exchangelib re-raises unknown errors from the transport).

One simplification: GetItem hands back the MIME exactly as delivered. A real server regenerates
MIME from the stored item (content conversion) and may refold headers or re-encode parts; the
intake does not depend on byte identity.
"""

from __future__ import annotations

import base64
import itertools
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import requests
import responses

ENDPOINT = "https://mail.council.test/EWS/Exchange.asmx"
MAILBOX = "reviews@partnership.example"
USERNAME = "COUNCIL\\svc-reviews"
PASSWORD = "ews-pw"

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
NS = {"s": SOAP, "m": M, "t": T}

#: The header Exchange 2016 CU23 writes on every response.
SERVER_VERSION = (
    '<h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" '
    'MinorBuildNumber="6" Version="V2017_07_11" '
    'xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" '
    'xmlns="http://schemas.microsoft.com/exchange/services/2006/types" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
)

#: Request schema versions the fake accepts (a real 2016 server also takes older ones). The
#: gateway pins Exchange2016; tests assert that, this only rejects what 2016 would not know.
ACCEPTED_VERSIONS = {"Exchange2016", "Exchange2013_SP1", "Exchange2013"}

FOLDER_FIELDS = {
    "folder:FolderId", "folder:ParentFolderId", "folder:FolderClass", "folder:DisplayName",
    "folder:TotalCount", "folder:ChildFolderCount", "folder:EffectiveRights",
    "folder:DistinguishedFolderId", "folder:PermissionSet", "folder:UnreadCount",
}

#: What exchangelib writes next to MimeContent for a new Message: its field defaults.
MIME_NEUTRAL_DEFAULTS = {
    "Sensitivity": "Normal",
    "Importance": "Normal",
    "ReminderIsSet": "0",
    "ReminderMinutesBeforeStart": "0",
    "IsReadReceiptRequested": "0",
    "IsDeliveryReceiptRequested": "0",
    "IsRead": "0",
    "IsResponseRequested": "0",
}

NOT_FOUND_ITEM = (
    "The specified object was not found in the store., The process failed to get the correct properties."
)
ERROR_TEXT = {
    "ErrorFolderNotFound": "The specified folder could not be found in the store.",
    "ErrorNonExistentMailbox": "The SMTP address has no mailbox associated with it.",
    "ErrorMimeContentInvalid": "The MIME content is invalid.",
    "ErrorServerBusy": "The server cannot service this request right now. Try again later.",
    "ErrorAccessDenied": "Access is denied. Check credentials and try again.",
    "ErrorMessageSizeExceeded": "The message exceeds the maximum supported size.",
}
STALE_CHANGEKEY = (
    "The send or update operation could not be performed because the change key passed in the "
    "request does not match the current change key for the item."
)


class UnsupportedRequest(AssertionError):
    """The gateway sent something this fake does not model: extend the fake, or fix the gateway."""


@dataclass
class FakeFolder:
    id: str
    name: str
    folder_class: str | None
    parent: str | None
    distinguished: str | None = None
    tag: str = "Folder"  # the response element: Folder, CalendarFolder, ContactsFolder, TasksFolder
    changekey: str = "AQAAABYAAAD7nQ1bF7U3Qr4SqO4w9pFZAAAAAAAB"


@dataclass
class FakeItem:
    id: str
    folder: str
    mime: bytes
    received: datetime
    is_read: bool = False
    version: int = 1

    @property
    def changekey(self) -> str:
        return "CQAAABYAAAD7nQ1bF7U3Qr4SqO4w9pFZ" + base64.b64encode(f"{self.version:06d}".encode()).decode()


@dataclass
class Fault:
    """One scripted failure for the next request."""

    status: int = 200
    exception: Exception | None = None
    soap_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeEws:
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
        if self.faults:
            fault = self.faults.pop(0)
            if fault.exception is not None:
                raise fault.exception
            if fault.soap_code is not None:
                return 500, _xml_headers(), _fault(fault.soap_code)
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
        name = _local(operation.tag)
        self.operations.append(name)
        handler: Callable[[ET.Element], str] | None = getattr(self, f"_op_{name}", None)
        if handler is None:
            raise UnsupportedRequest(f"EWS operation {name} is not modelled by the fake")
        if name in self.denied:
            return 200, _xml_headers(), _envelope(name, _error(name, "ErrorAccessDenied"))
        return 200, _xml_headers(), _envelope(name, handler(operation))

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
        if _local(elem.tag) == "DistinguishedFolderId":
            address = elem.find("t:Mailbox/t:EmailAddress", NS)
            if address is not None and (address.text or "").lower() != MAILBOX:
                return "ErrorNonExistentMailbox"
            found = [f for f in self.folders.values() if f.distinguished == elem.get("Id")]
            return found[0] if found else "ErrorFolderNotFound"
        if _local(elem.tag) == "FolderId":
            folder = self.folders.get(elem.get("Id", ""))
            return folder if folder else "ErrorFolderNotFound"
        raise UnsupportedRequest(f"folder id element {elem.tag}")

    def _folder_xml(self, folder: FakeFolder, fields: set[str]) -> str:
        unknown = fields - FOLDER_FIELDS
        if unknown:
            raise UnsupportedRequest(f"folder fields {sorted(unknown)}")
        # BaseFolderType schema order; FolderType adds PermissionSet and UnreadCount at the end.
        parts = [_id_xml("FolderId", folder.id, folder.changekey)]
        if "folder:ParentFolderId" in fields and folder.parent:
            parent = self.folders[folder.parent]
            parts.append(_id_xml("ParentFolderId", parent.id, parent.changekey))
        if "folder:FolderClass" in fields and folder.folder_class:
            parts.append(f"<t:FolderClass>{folder.folder_class}</t:FolderClass>")
        if "folder:DisplayName" in fields:
            parts.append(f"<t:DisplayName>{escape(folder.name)}</t:DisplayName>")
        items = [i for i in self.items.values() if i.folder == folder.id]
        if "folder:TotalCount" in fields:
            parts.append(f"<t:TotalCount>{len(items)}</t:TotalCount>")
        if "folder:ChildFolderCount" in fields:
            children = sum(1 for f in self.folders.values() if f.parent == folder.id)
            parts.append(f"<t:ChildFolderCount>{children}</t:ChildFolderCount>")
        if "folder:EffectiveRights" in fields:
            parts.append(
                "<t:EffectiveRights><t:CreateAssociated>true</t:CreateAssociated>"
                "<t:CreateContents>true</t:CreateContents><t:CreateHierarchy>true</t:CreateHierarchy>"
                "<t:Delete>true</t:Delete><t:Modify>true</t:Modify><t:Read>true</t:Read>"
                "<t:ViewPrivateItems>true</t:ViewPrivateItems></t:EffectiveRights>"
            )
        if "folder:DistinguishedFolderId" in fields and folder.distinguished:
            parts.append(f"<t:DistinguishedFolderId>{folder.distinguished}</t:DistinguishedFolderId>")
        if "folder:PermissionSet" in fields:
            parts.append(
                "<t:PermissionSet><t:Permissions><t:Permission><t:UserId>"
                "<t:DistinguishedUser>Default</t:DistinguishedUser></t:UserId>"
                "<t:CanCreateItems>false</t:CanCreateItems><t:CanCreateSubFolders>false</t:CanCreateSubFolders>"
                "<t:IsFolderOwner>false</t:IsFolderOwner><t:IsFolderVisible>false</t:IsFolderVisible>"
                "<t:IsFolderContact>false</t:IsFolderContact><t:EditItems>None</t:EditItems>"
                "<t:DeleteItems>None</t:DeleteItems><t:ReadItems>None</t:ReadItems>"
                "<t:PermissionLevel>None</t:PermissionLevel></t:Permission></t:Permissions></t:PermissionSet>"
            )
        if "folder:UnreadCount" in fields and folder.tag == "Folder":
            parts.append(f"<t:UnreadCount>{sum(1 for i in items if not i.is_read)}</t:UnreadCount>")
        return f"<t:{folder.tag}>{''.join(parts)}</t:{folder.tag}>"

    def _op_GetFolder(self, op: ET.Element) -> str:
        fields = _shape_fields(op.find("m:FolderShape", NS))
        messages = []
        for elem in _children(op, "m:FolderIds"):
            found = self._resolve_folder(elem)
            if isinstance(found, str):
                messages.append(_error("GetFolder", found))
            else:
                messages.append(_ok("GetFolder", f"<m:Folders>{self._folder_xml(found, fields)}</m:Folders>"))
        return "".join(messages)

    def _op_FindFolder(self, op: ET.Element) -> str:
        traversal = op.get("Traversal")
        if traversal not in ("Shallow", "Deep"):
            raise UnsupportedRequest(f"FindFolder Traversal={traversal}")
        fields = _shape_fields(op.find("m:FolderShape", NS))
        restriction = op.find("m:Restriction", NS)
        offset, limit = _paging(op.find("m:IndexedPageFolderView", NS))
        messages = []
        for elem in _children(op, "m:ParentFolderIds"):
            parent = self._resolve_folder(elem)
            if isinstance(parent, str):
                messages.append(_error("FindFolder", parent))
                continue
            found = self._descendants(parent.id, deep=traversal == "Deep")
            if restriction is not None:
                found = [f for f in found if _matches(restriction[0], self._folder_value(f))]
            page = found[offset : offset + limit]
            xml = "<t:Folders>" + "".join(self._folder_xml(f, fields) for f in page) + "</t:Folders>"
            messages.append(_ok("FindFolder", _root_folder(offset, page, len(found), xml)))
        return "".join(messages)

    def _descendants(self, parent: str, *, deep: bool) -> list[FakeFolder]:
        out: list[FakeFolder] = []
        for folder in self.folders.values():
            if folder.parent == parent:
                out.append(folder)
                if deep:
                    out.extend(self._descendants(folder.id, deep=True))
        return out

    @staticmethod
    def _folder_value(folder: FakeFolder) -> Callable[[str], str]:
        def value(uri: str) -> str:
            if uri == "folder:DisplayName":
                return folder.name
            if uri == "folder:FolderClass":
                return folder.folder_class or ""
            raise UnsupportedRequest(f"folder restriction on {uri}")

        return value

    # -- items -------------------------------------------------------------------------------

    def _item_xml(self, item: FakeItem, fields: set[str]) -> str:
        parts = []
        # Schema order (ItemType): MimeContent comes before ItemId.
        if "item:MimeContent" in fields:
            mime = base64.b64encode(item.mime).decode()
            parts.append(f'<t:MimeContent CharacterSet="UTF-8">{mime}</t:MimeContent>')
        parts.append(_id_xml("ItemId", item.id, item.changekey))
        if "item:ParentFolderId" in fields:
            folder = self.folders[item.folder]
            parts.append(_id_xml("ParentFolderId", folder.id, folder.changekey))
        if "item:DateTimeReceived" in fields:
            parts.append(f"<t:DateTimeReceived>{_stamp(item.received)}</t:DateTimeReceived>")
        if "message:IsRead" in fields:
            parts.append(f"<t:IsRead>{str(item.is_read).lower()}</t:IsRead>")
        unknown = fields - {"item:MimeContent", "item:ParentFolderId", "item:DateTimeReceived",
                            "message:IsRead", "item:ItemId"}
        if unknown:
            raise UnsupportedRequest(f"item fields {sorted(unknown)}")
        return f"<t:Message>{''.join(parts)}</t:Message>"

    def _item_value(self, item: FakeItem) -> Callable[[str], str]:
        def value(uri: str) -> str:
            if uri == "message:IsRead":
                return str(item.is_read).lower()
            raise UnsupportedRequest(f"item restriction on {uri}")

        return value

    def _op_FindItem(self, op: ET.Element) -> str:
        if op.get("Traversal") != "Shallow":
            raise UnsupportedRequest(f"FindItem Traversal={op.get('Traversal')}")
        fields = _shape_fields(op.find("m:ItemShape", NS))
        offset, limit = _paging(op.find("m:IndexedPageItemView", NS))
        restriction = op.find("m:Restriction", NS)
        order = op.findall("m:SortOrder/t:FieldOrder", NS)
        messages = []
        for elem in _children(op, "m:ParentFolderIds"):
            folder = self._resolve_folder(elem)
            if isinstance(folder, str):
                messages.append(_error("FindItem", folder))
                continue
            found = [i for i in self.items.values() if i.folder == folder.id]
            if restriction is not None:
                found = [i for i in found if _matches(restriction[0], self._item_value(i))]
            # Exchange's default order is newest first; a SortOrder overrides it.
            found.sort(key=lambda i: i.received, reverse=True)
            for field_order in reversed(order):
                uri = field_order.find("t:FieldURI", NS)
                if uri is None or uri.get("FieldURI") != "item:DateTimeReceived":
                    raise UnsupportedRequest("FindItem sort other than item:DateTimeReceived")
                found.sort(key=lambda i: i.received, reverse=field_order.get("Order") == "Descending")
            page = found[offset : offset + limit]
            xml = "<t:Items>" + "".join(self._item_xml(i, fields) for i in page) + "</t:Items>"
            messages.append(_ok("FindItem", _root_folder(offset, page, len(found), xml)))
        return "".join(messages)

    def _op_GetItem(self, op: ET.Element) -> str:
        fields = _shape_fields(op.find("m:ItemShape", NS))
        messages = []
        for elem in _children(op, "m:ItemIds"):
            item = self.items.get(elem.get("Id", ""))
            if item is None:
                messages.append(_error("GetItem", "ErrorItemNotFound", NOT_FOUND_ITEM))
            else:
                messages.append(_ok("GetItem", f"<m:Items>{self._item_xml(item, fields)}</m:Items>"))
        return "".join(messages)

    def _op_UpdateItem(self, op: ET.Element) -> str:
        if op.get("MessageDisposition", "SaveOnly") != "SaveOnly":
            raise UnsupportedRequest("UpdateItem that sends")
        resolution = op.get("ConflictResolution")
        messages = []
        for change in _children(op, "m:ItemChanges"):
            ref = change.find("t:ItemId", NS)
            item = self.items.get(ref.get("Id", "")) if ref is not None else None
            if item is None or ref is None:
                messages.append(_error("UpdateItem", "ErrorItemNotFound", NOT_FOUND_ITEM))
                continue
            if resolution == "NeverOverwrite" and ref.get("ChangeKey") not in (None, item.changekey):
                messages.append(_error("UpdateItem", "ErrorIrresolvableConflict", STALE_CHANGEKEY))
                continue
            for update in _children(change, "t:Updates"):
                uri = update.find("t:FieldURI", NS)
                value = update.find("t:Message/t:IsRead", NS)
                if (_local(update.tag) != "SetItemField" or uri is None
                        or uri.get("FieldURI") != "message:IsRead" or value is None):
                    raise UnsupportedRequest(f"UpdateItem change {ET.tostring(update)!r}")
                item.is_read = _canonical(value.text or "") == "true"
            item.version += 1
            messages.append(_ok("UpdateItem", f"<m:Items>{_message_ref(item)}</m:Items>"
                                "<m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>"))
        return "".join(messages)

    def _op_MoveItem(self, op: ET.Element) -> str:
        (target_elem,) = _children(op, "m:ToFolderId")
        target = self._resolve_folder(target_elem)
        messages = []
        for elem in _children(op, "m:ItemIds"):
            item = self.items.get(elem.get("Id", ""))
            if isinstance(target, str):
                messages.append(_error("MoveItem", target))
                continue
            if item is None:
                messages.append(_error("MoveItem", "ErrorItemNotFound", NOT_FOUND_ITEM))
                continue
            # The store entry id changes with the folder: the moved item is known by a new id.
            del self.items[item.id]
            item.id, item.folder, item.version = self._new_id("item"), target.id, item.version + 1
            self.items[item.id] = item
            messages.append(_ok("MoveItem", f"<m:Items>{_message_ref(item)}</m:Items>"))
        return "".join(messages)

    def _op_CreateItem(self, op: ET.Element) -> str:
        disposition = op.get("MessageDisposition")
        if disposition not in ("SaveOnly", "SendOnly", "SendAndSaveCopy"):
            raise UnsupportedRequest(f"CreateItem MessageDisposition={disposition}")
        saved = op.find("m:SavedItemFolderId", NS)
        folder: FakeFolder | str | None = None  # where the copy goes; None: SendOnly keeps none
        if disposition != "SendOnly":
            default = "sentitems" if disposition == "SendAndSaveCopy" else "drafts"
            folder = self._resolve_folder(saved[0]) if saved is not None else self.by_distinguished(default)
        messages = []
        for message in _children(op, "m:Items"):
            if _local(message.tag) != "Message":
                raise UnsupportedRequest(f"CreateItem of {message.tag}")
            # Properties next to MimeContent override what the MIME says on a real server: only
            # exchangelib's defaults (which say nothing the bot's MIME would) are let through.
            extra = {_local(c.tag): c.text for c in message if _local(c.tag) != "MimeContent"}
            overriding = {k: v for k, v in extra.items() if MIME_NEUTRAL_DEFAULTS.get(k) != v}
            if overriding:
                raise UnsupportedRequest(f"CreateItem with properties beside the MIME: {overriding}")
            mime_text = message.findtext("t:MimeContent", namespaces=NS)
            if not mime_text:
                messages.append(_error("CreateItem", "ErrorMimeContentInvalid"))
                continue
            if isinstance(folder, str) or self.create_error:
                messages.append(_error("CreateItem", self.create_error or str(folder)))
                continue
            mime = base64.b64decode(mime_text)
            if disposition != "SaveOnly":
                self.sent.append(mime)
            if folder is None:
                messages.append(_ok("CreateItem", "<m:Items/>"))
                continue
            self._clock += timedelta(seconds=1)
            item = FakeItem(self._new_id("item"), folder.id, mime, self._clock, is_read=True)
            self.items[item.id] = item
            # Exchange returns the new item only when it saved without sending.
            returned = _message_ref(item) if disposition == "SaveOnly" else ""
            messages.append(_ok("CreateItem", f"<m:Items>{returned}</m:Items>"))
        return "".join(messages)


# --- XML helpers ------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(op: ET.Element, path: str) -> list[ET.Element]:
    container = op.find(path, NS)
    if container is None:
        raise UnsupportedRequest(f"{_local(op.tag)} without {path}")
    return list(container)


def _shape_fields(shape: ET.Element | None) -> set[str]:
    if shape is None:
        raise UnsupportedRequest("request without a shape")
    base = shape.findtext("t:BaseShape", namespaces=NS)
    if base != "IdOnly":
        raise UnsupportedRequest(f"BaseShape {base}: the fake answers IdOnly plus named properties")
    fields = set()
    for prop in shape.findall("t:AdditionalProperties/*", NS):
        if _local(prop.tag) != "FieldURI":
            raise UnsupportedRequest(f"property {prop.tag}")
        fields.add(prop.get("FieldURI", ""))
    return fields


def _paging(view: ET.Element | None) -> tuple[int, int]:
    if view is None:
        return 0, 1000  # Exchange's default EWSFindCountLimit
    if view.get("BasePoint", "Beginning") != "Beginning":
        raise UnsupportedRequest("paging from the end")
    return int(view.get("Offset", "0")), int(view.get("MaxEntriesReturned", "1000"))


def _matches(expr: ET.Element, value: Callable[[str], str]) -> bool:
    kind = _local(expr.tag)
    if kind == "And":
        return all(_matches(e, value) for e in expr)
    if kind == "Or":
        return any(_matches(e, value) for e in expr)
    if kind == "Not":
        return not _matches(expr[0], value)
    if kind in ("IsEqualTo", "IsNotEqualTo"):
        uri = expr.find("t:FieldURI", NS)
        constant = expr.find("t:FieldURIOrConstant/t:Constant", NS)
        if uri is None or constant is None:
            raise UnsupportedRequest(f"restriction {ET.tostring(expr)!r}")
        equal = _canonical(value(uri.get("FieldURI", ""))) == _canonical(constant.get("Value") or "")
        return equal if kind == "IsEqualTo" else not equal
    raise UnsupportedRequest(f"restriction {kind}")


def _canonical(value: str) -> str:
    # xs:boolean allows 0/1 as well as false/true (exchangelib writes 0/1); names compare caselessly.
    return {"0": "false", "1": "true"}.get(value, value.lower())


def _root_folder(offset: int, page: list[Any], total: int, inner: str) -> str:
    end = offset + len(page)
    last = "true" if end >= total else "false"
    return (
        f'<m:RootFolder IndexedPagingOffset="{end}" TotalItemsInView="{total}" '
        f'IncludesLastItemInRange="{last}">{inner}</m:RootFolder>'
    )


def _id_xml(tag: str, id_: str, changekey: str) -> str:
    return f"<t:{tag} Id={quoteattr(id_)} ChangeKey={quoteattr(changekey)}/>"


def _message_ref(item: FakeItem) -> str:
    return f"<t:Message>{_id_xml('ItemId', item.id, item.changekey)}</t:Message>"


def _ok(operation: str, inner: str) -> str:
    return (
        f'<m:{operation}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
        f"{inner}</m:{operation}ResponseMessage>"
    )


def _error(operation: str, code: str, text: str | None = None) -> str:
    text = text or ERROR_TEXT.get(code, code)
    return (
        f'<m:{operation}ResponseMessage ResponseClass="Error"><m:MessageText>{escape(text)}</m:MessageText>'
        f"<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>"
        f"</m:{operation}ResponseMessage>"
    )


def _envelope(operation: str, messages: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP}"><s:Header>{SERVER_VERSION}</s:Header>'
        '<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f'<m:{operation}Response xmlns:m="{M}" xmlns:t="{T}">'
        f"<m:ResponseMessages>{messages}</m:ResponseMessages>"
        f"</m:{operation}Response></s:Body></s:Envelope>"
    )


def _fault(code: str) -> str:
    """A SOAP fault as Exchange sends it (HTTP 500), e.g. ``ErrorServerBusy`` when throttled."""
    detail = ""
    if code == "ErrorServerBusy":
        detail = (
            f'<t:MessageXml xmlns:t="{T}"><t:Value Name="BackOffMilliseconds">297749</t:Value></t:MessageXml>'
        )
    text = ERROR_TEXT.get(code, code)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP}"><s:Body><s:Fault>'
        f'<faultcode xmlns:a="{T}">a:{code}</faultcode>'
        f'<faultstring xml:lang="en-US">{escape(text)}</faultstring>'
        '<detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">'
        f"{code}</e:ResponseCode>"
        '<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">'
        f"{escape(text)}</e:Message>{detail}</detail>"
        "</s:Fault></s:Body></s:Envelope>"
    )


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _xml_headers() -> dict[str, str]:
    return {"Content-Type": "text/xml; charset=utf-8"}

