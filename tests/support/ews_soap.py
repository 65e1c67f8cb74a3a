"""The SOAP that the fake EWS endpoint (tests/support/fake_ews.py) reads and writes: namespaces,
the Exchange 2016 ``ServerVersionInfo`` header, the error texts and the XML helpers that build
response envelopes and read requests.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

if TYPE_CHECKING:
    from tests.support.ews_operations import FakeItem

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


# --- XML helpers ------------------------------------------------------------------------------


def local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def children_at(op: ET.Element, path: str) -> list[ET.Element]:
    container = op.find(path, NS)
    if container is None:
        raise UnsupportedRequest(f"{local_name(op.tag)} without {path}")
    return list(container)


def shape_fields(shape: ET.Element | None) -> set[str]:
    if shape is None:
        raise UnsupportedRequest("request without a shape")
    base = shape.findtext("t:BaseShape", namespaces=NS)
    if base != "IdOnly":
        raise UnsupportedRequest(f"BaseShape {base}: the fake answers IdOnly plus named properties")
    fields = set()
    for prop in shape.findall("t:AdditionalProperties/*", NS):
        if local_name(prop.tag) != "FieldURI":
            raise UnsupportedRequest(f"property {prop.tag}")
        fields.add(prop.get("FieldURI", ""))
    return fields


def paging(view: ET.Element | None) -> tuple[int, int]:
    if view is None:
        return 0, 1000  # Exchange's default EWSFindCountLimit
    if view.get("BasePoint", "Beginning") != "Beginning":
        raise UnsupportedRequest("paging from the end")
    return int(view.get("Offset", "0")), int(view.get("MaxEntriesReturned", "1000"))


def matches(expr: ET.Element, value: Callable[[str], str]) -> bool:
    kind = local_name(expr.tag)
    if kind == "And":
        return all(matches(e, value) for e in expr)
    if kind == "Or":
        return any(matches(e, value) for e in expr)
    if kind == "Not":
        return not matches(expr[0], value)
    if kind in ("IsEqualTo", "IsNotEqualTo"):
        uri = expr.find("t:FieldURI", NS)
        constant = expr.find("t:FieldURIOrConstant/t:Constant", NS)
        if uri is None or constant is None:
            raise UnsupportedRequest(f"restriction {ET.tostring(expr)!r}")
        equal = canonical(value(uri.get("FieldURI", ""))) == canonical(constant.get("Value") or "")
        return equal if kind == "IsEqualTo" else not equal
    raise UnsupportedRequest(f"restriction {kind}")


def canonical(value: str) -> str:
    # xs:boolean allows 0/1 as well as false/true (exchangelib writes 0/1); names compare caselessly.
    return {"0": "false", "1": "true"}.get(value, value.lower())


def root_folder(offset: int, page: list[Any], total: int, inner: str) -> str:
    end = offset + len(page)
    last = "true" if end >= total else "false"
    return (
        f'<m:RootFolder IndexedPagingOffset="{end}" TotalItemsInView="{total}" '
        f'IncludesLastItemInRange="{last}">{inner}</m:RootFolder>'
    )


def id_xml(tag: str, id_: str, changekey: str) -> str:
    return f"<t:{tag} Id={quoteattr(id_)} ChangeKey={quoteattr(changekey)}/>"


def message_ref(item: FakeItem) -> str:
    return f"<t:Message>{id_xml('ItemId', item.id, item.changekey)}</t:Message>"


def ok_message(operation: str, inner: str) -> str:
    return (
        f'<m:{operation}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>'
        f"{inner}</m:{operation}ResponseMessage>"
    )


def error_message(operation: str, code: str, text: str | None = None) -> str:
    text = text or ERROR_TEXT.get(code, code)
    return (
        f'<m:{operation}ResponseMessage ResponseClass="Error"><m:MessageText>{escape(text)}</m:MessageText>'
        f"<m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>"
        f"</m:{operation}ResponseMessage>"
    )


def envelope(operation: str, messages: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP}"><s:Header>{SERVER_VERSION}</s:Header>'
        '<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f'<m:{operation}Response xmlns:m="{M}" xmlns:t="{T}">'
        f"<m:ResponseMessages>{messages}</m:ResponseMessages>"
        f"</m:{operation}Response></s:Body></s:Envelope>"
    )


def soap_fault(code: str) -> str:
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


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def xml_headers() -> dict[str, str]:
    return {"Content-Type": "text/xml; charset=utf-8"}
