"""The mailbox the fake EWS endpoint holds (folders and items) and what each SOAP operation does
to it: GetFolder, FindFolder, FindItem, GetItem, UpdateItem, MoveItem and CreateItem.

:class:`EwsOperations` is mixed into :class:`tests.support.fake_ews.FakeEws`, which owns the state
(folders, items, sent, the clock), the HTTP side and folder resolution; the wire format is in
:mod:`tests.support.ews_soap`.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from tests.support.ews_soap import (
    FOLDER_FIELDS,
    MIME_NEUTRAL_DEFAULTS,
    NOT_FOUND_ITEM,
    NS,
    STALE_CHANGEKEY,
    UnsupportedRequest,
    canonical,
    children_at,
    error_message,
    id_xml,
    local_name,
    matches,
    message_ref,
    ok_message,
    paging,
    root_folder,
    shape_fields,
    stamp,
)


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




class EwsOperations:
    """The ``_op_<Operation>`` handlers :meth:`FakeEws._callback` dispatches to, and the XML of
    the folders and items they answer with."""

    folders: dict[str, FakeFolder]
    items: dict[str, FakeItem]
    sent: list[bytes]
    create_error: str | None
    _clock: datetime


    def _folder_xml(self, folder: FakeFolder, fields: set[str]) -> str:
        unknown = fields - FOLDER_FIELDS
        if unknown:
            raise UnsupportedRequest(f"folder fields {sorted(unknown)}")
        # BaseFolderType schema order; FolderType adds PermissionSet and UnreadCount at the end.
        parts = [id_xml("FolderId", folder.id, folder.changekey)]
        if "folder:ParentFolderId" in fields and folder.parent:
            parent = self.folders[folder.parent]
            parts.append(id_xml("ParentFolderId", parent.id, parent.changekey))
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
        fields = shape_fields(op.find("m:FolderShape", NS))
        messages = []
        for elem in children_at(op, "m:FolderIds"):
            found = self._resolve_folder(elem)
            if isinstance(found, str):
                messages.append(error_message("GetFolder", found))
            else:
                messages.append(
                    ok_message("GetFolder", f"<m:Folders>{self._folder_xml(found, fields)}</m:Folders>")
                )
        return "".join(messages)

    def _op_FindFolder(self, op: ET.Element) -> str:
        traversal = op.get("Traversal")
        if traversal not in ("Shallow", "Deep"):
            raise UnsupportedRequest(f"FindFolder Traversal={traversal}")
        fields = shape_fields(op.find("m:FolderShape", NS))
        restriction = op.find("m:Restriction", NS)
        offset, limit = paging(op.find("m:IndexedPageFolderView", NS))
        messages = []
        for elem in children_at(op, "m:ParentFolderIds"):
            parent = self._resolve_folder(elem)
            if isinstance(parent, str):
                messages.append(error_message("FindFolder", parent))
                continue
            found = self._descendants(parent.id, deep=traversal == "Deep")
            if restriction is not None:
                found = [f for f in found if matches(restriction[0], self._folder_value(f))]
            page = found[offset : offset + limit]
            xml = "<t:Folders>" + "".join(self._folder_xml(f, fields) for f in page) + "</t:Folders>"
            messages.append(ok_message("FindFolder", root_folder(offset, page, len(found), xml)))
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
        parts.append(id_xml("ItemId", item.id, item.changekey))
        if "item:ParentFolderId" in fields:
            folder = self.folders[item.folder]
            parts.append(id_xml("ParentFolderId", folder.id, folder.changekey))
        if "item:DateTimeReceived" in fields:
            parts.append(f"<t:DateTimeReceived>{stamp(item.received)}</t:DateTimeReceived>")
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
            if uri == "message:InternetMessageId":
                headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(item.mime)
                return str(headers.get("Message-ID", "")).strip()
            raise UnsupportedRequest(f"item restriction on {uri}")

        return value

    def _op_FindItem(self, op: ET.Element) -> str:
        if op.get("Traversal") != "Shallow":
            raise UnsupportedRequest(f"FindItem Traversal={op.get('Traversal')}")
        fields = shape_fields(op.find("m:ItemShape", NS))
        offset, limit = paging(op.find("m:IndexedPageItemView", NS))
        restriction = op.find("m:Restriction", NS)
        order = op.findall("m:SortOrder/t:FieldOrder", NS)
        messages = []
        for elem in children_at(op, "m:ParentFolderIds"):
            folder = self._resolve_folder(elem)
            if isinstance(folder, str):
                messages.append(error_message("FindItem", folder))
                continue
            found = [i for i in self.items.values() if i.folder == folder.id]
            if restriction is not None:
                found = [i for i in found if matches(restriction[0], self._item_value(i))]
            # Exchange's default order is newest first; a SortOrder overrides it.
            found.sort(key=lambda i: i.received, reverse=True)
            for field_order in reversed(order):
                uri = field_order.find("t:FieldURI", NS)
                if uri is None or uri.get("FieldURI") != "item:DateTimeReceived":
                    raise UnsupportedRequest("FindItem sort other than item:DateTimeReceived")
                found.sort(key=lambda i: i.received, reverse=field_order.get("Order") == "Descending")
            page = found[offset : offset + limit]
            xml = "<t:Items>" + "".join(self._item_xml(i, fields) for i in page) + "</t:Items>"
            messages.append(ok_message("FindItem", root_folder(offset, page, len(found), xml)))
        return "".join(messages)

    def _op_GetItem(self, op: ET.Element) -> str:
        fields = shape_fields(op.find("m:ItemShape", NS))
        messages = []
        for elem in children_at(op, "m:ItemIds"):
            item = self.items.get(elem.get("Id", ""))
            if item is None:
                messages.append(error_message("GetItem", "ErrorItemNotFound", NOT_FOUND_ITEM))
            else:
                messages.append(ok_message("GetItem", f"<m:Items>{self._item_xml(item, fields)}</m:Items>"))
        return "".join(messages)

    def _op_UpdateItem(self, op: ET.Element) -> str:
        if op.get("MessageDisposition", "SaveOnly") != "SaveOnly":
            raise UnsupportedRequest("UpdateItem that sends")
        resolution = op.get("ConflictResolution")
        messages = []
        for change in children_at(op, "m:ItemChanges"):
            ref = change.find("t:ItemId", NS)
            item = self.items.get(ref.get("Id", "")) if ref is not None else None
            if item is None or ref is None:
                messages.append(error_message("UpdateItem", "ErrorItemNotFound", NOT_FOUND_ITEM))
                continue
            if resolution == "NeverOverwrite" and ref.get("ChangeKey") not in (None, item.changekey):
                messages.append(error_message("UpdateItem", "ErrorIrresolvableConflict", STALE_CHANGEKEY))
                continue
            for update in children_at(change, "t:Updates"):
                uri = update.find("t:FieldURI", NS)
                value = update.find("t:Message/t:IsRead", NS)
                if (local_name(update.tag) != "SetItemField" or uri is None
                        or uri.get("FieldURI") != "message:IsRead" or value is None):
                    raise UnsupportedRequest(f"UpdateItem change {ET.tostring(update)!r}")
                item.is_read = canonical(value.text or "") == "true"
            item.version += 1
            messages.append(ok_message("UpdateItem", f"<m:Items>{message_ref(item)}</m:Items>"
                                "<m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>"))
        return "".join(messages)

    def _op_MoveItem(self, op: ET.Element) -> str:
        (target_elem,) = children_at(op, "m:ToFolderId")
        target = self._resolve_folder(target_elem)
        messages = []
        for elem in children_at(op, "m:ItemIds"):
            item = self.items.get(elem.get("Id", ""))
            if isinstance(target, str):
                messages.append(error_message("MoveItem", target))
                continue
            if item is None:
                messages.append(error_message("MoveItem", "ErrorItemNotFound", NOT_FOUND_ITEM))
                continue
            # The store entry id changes with the folder: the moved item is known by a new id.
            del self.items[item.id]
            item.id, item.folder, item.version = self._new_id("item"), target.id, item.version + 1
            self.items[item.id] = item
            messages.append(ok_message("MoveItem", f"<m:Items>{message_ref(item)}</m:Items>"))
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
        for message in children_at(op, "m:Items"):
            if local_name(message.tag) != "Message":
                raise UnsupportedRequest(f"CreateItem of {message.tag}")
            # Properties next to MimeContent override what the MIME says on a real server: only
            # exchangelib's defaults (which say nothing the bot's MIME would) are let through.
            extra = {local_name(c.tag): c.text for c in message if local_name(c.tag) != "MimeContent"}
            overriding = {k: v for k, v in extra.items() if MIME_NEUTRAL_DEFAULTS.get(k) != v}
            if overriding:
                raise UnsupportedRequest(f"CreateItem with properties beside the MIME: {overriding}")
            mime_text = message.findtext("t:MimeContent", namespaces=NS)
            if not mime_text:
                messages.append(error_message("CreateItem", "ErrorMimeContentInvalid"))
                continue
            if isinstance(folder, str) or self.create_error:
                messages.append(error_message("CreateItem", self.create_error or str(folder)))
                continue
            mime = base64.b64decode(mime_text)
            if disposition != "SaveOnly":
                self.sent.append(mime)
            if folder is None:
                messages.append(ok_message("CreateItem", "<m:Items/>"))
                continue
            self._clock += timedelta(seconds=1)
            item = FakeItem(self._new_id("item"), folder.id, mime, self._clock, is_read=True)
            self.items[item.id] = item
            # Exchange returns the new item only when it saved without sending.
            returned = message_ref(item) if disposition == "SaveOnly" else ""
            messages.append(ok_message("CreateItem", f"<m:Items>{returned}</m:Items>"))
        return "".join(messages)
