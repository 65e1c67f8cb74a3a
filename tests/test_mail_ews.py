"""EWS gateway against canned SOAP: a stateful fake of Exchange 2016 at the HTTP level.

exchangelib's ``requests`` traffic goes to :class:`tests.support.fake_ews.FakeEws` through
``responses``; nothing else answers, so an autodiscover lookup or any stray request fails the
test. Covered here: the listing (oldest first, FindItem paging, GetItem batches, MIME bytes as
delivered, nothing changed by listing, read-but-unprocessed mail still listed), mark processed
(read + MoveItem to the processed folder under the inbox or at the top of the store, harmless
twice, nothing changed when the folder is missing, mark-read only with no processed folder),
send (CreateItem from MIME with SendAndSaveCopy; Message-ID, In-Reply-To, References and the
attachment survive; a refused send raises), ``check()`` (healthy dry run, missing folder, missing
permission, unknown mailbox, Exchange Online warning) and error classification (401 not
transient; 503, ErrorServerBusy and connection errors transient; an untrusted TLS certificate not
transient). The whole MailGateway contract runs against the same fake in
tests/test_gateway_contract_remote.py.

Not covered: the NTLM handshake (requests_ntlm needs a real socket for channel binding, so the
fake speaks Basic) and OAuth against Entra ID.
"""

from __future__ import annotations

import base64
import email
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default

import pytest
import requests
import responses

from bot.mail.ews import EXCHANGE_ONLINE_WARNING, EwsMailGateway, is_exchange_online
from bot.mail.gateway import MailboxError, TransientMailboxError
from tests.support.fake_ews import ENDPOINT, MAILBOX, PASSWORD, USERNAME, FakeEws

CHANGES = {"UpdateItem", "MoveItem", "CreateItem"}


@pytest.mark.parametrize(
    ("endpoint", "online"),
    [
        ("https://outlook.office365.com/EWS/Exchange.asmx", True),
        ("https://OUTLOOK.OFFICE.COM/EWS/Exchange.asmx", True),
        ("https://mail.council.example/EWS/Exchange.asmx", False),
        ("https://outlook.office365.com.evil.example/EWS/Exchange.asmx", False),
    ],
)
def test_is_exchange_online(endpoint: str, online: bool) -> None:
    assert is_exchange_online(endpoint) is online


def gateway(endpoint: str = ENDPOINT, **kw: object) -> EwsMailGateway:
    kwargs: dict[str, object] = {
        "service_endpoint": endpoint,
        "username": USERNAME,
        "password": PASSWORD,
        "mailbox": MAILBOX,
        "auth_type": "basic",
    }
    kwargs.update(kw)
    return EwsMailGateway(**kwargs)  # type: ignore[arg-type]


@contextmanager
def running(processed_parent: str | None = "inbox") -> Iterator[FakeEws]:
    server = FakeEws(processed_parent=processed_parent)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server.install(mock)
        yield server


@pytest.fixture
def fake() -> Iterator[FakeEws]:
    with running() as server:
        yield server


def raw(n: int) -> bytes:
    return (
        f"From: Officer {n} <officer{n}@police.example>\r\nTo: {MAILBOX}\r\n"
        f"Subject: [SI-2026-0001] return {n}\r\nMessage-ID: <m{n}@police.example>\r\n"
        f"Date: Thu, 19 Nov 2026 09:12:44 +0000\r\n\r\nbody {n}\r\n"
    ).encode()


def request_xml(fake: FakeEws, operation: str) -> str:
    bodies = [r.body for r in fake.requests if r.body and f"<m:{operation}".encode() in bytes(r.body)]
    assert bodies, f"no {operation} request"
    return bytes(bodies[-1]).decode()


# --- construction and first contact ---------------------------------------------------------------


@responses.activate
def test_construction_does_not_connect() -> None:
    gateway("https://mail.council.example/EWS/Exchange.asmx")
    assert len(responses.calls) == 0


def test_first_contact_goes_straight_to_the_endpoint_with_the_pinned_schema(fake: FakeEws) -> None:
    fake.deliver(raw(1))
    assert len(list(gateway().fetch_new())) == 1
    # No autodiscover, no version guessing (ResolveNames/ConvertId probes): the pinned
    # Exchange 2016 schema from the very first request.
    assert fake.operations == ["GetFolder", "GetFolder", "FindItem", "GetItem"]
    assert {r.url for r in fake.requests} == {ENDPOINT}
    assert all(b'<t:RequestServerVersion Version="Exchange2016"/>' in bytes(r.body or b"")
               for r in fake.requests)
    expected = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    assert all(r.headers["Authorization"] == expected for r in fake.requests)


# --- listing --------------------------------------------------------------------------------------


def test_fetch_lists_the_inbox_oldest_first_as_delivered_and_changes_nothing(fake: FakeEws) -> None:
    for n in range(3):
        fake.deliver(raw(n))
    fake.deliver(b"Subject: filed\r\n\r\nx\r\n", folder="deleteditems")  # other folders are not read
    gw = gateway()
    items = list(gw.fetch_new())
    assert [i.raw for i in items] == [raw(n) for n in range(3)]
    assert len({i.item_id for i in items}) == 3
    assert [i.raw for i in gw.fetch_new()] == [raw(n) for n in range(3)]  # listing consumed nothing
    assert not CHANGES & set(fake.operations)
    inbox = fake.in_folder(fake.by_distinguished("inbox"))
    assert [i.is_read for i in inbox] == [False, False, False]
    find = request_xml(fake, "FindItem")
    assert '<t:FieldOrder Order="Ascending"><t:FieldURI FieldURI="item:DateTimeReceived"/>' in find


def test_fetch_pages_through_a_large_inbox(fake: FakeEws) -> None:
    # exchangelib pages FindItem by 100 and the gateway fetches MIME ten at a time.
    messages = [raw(n) for n in range(105)]
    for message in messages:
        fake.deliver(message)
    assert [i.raw for i in gateway().fetch_new()] == messages
    assert fake.operations.count("FindItem") == 2
    assert fake.operations.count("GetItem") == 11


def test_a_person_reading_the_mailbox_does_not_hide_a_message(fake: FakeEws) -> None:
    fake.deliver(raw(1), is_read=True)  # opened in Outlook before the bot polled
    fake.deliver(raw(2))
    assert [i.raw for i in gateway().fetch_new()] == [raw(1), raw(2)]


def test_without_processed_folder_read_means_processed(fake: FakeEws) -> None:
    fake.deliver(raw(1), is_read=True)
    fake.deliver(raw(2))
    gw = gateway(processed_folder="")
    (item,) = gw.fetch_new()
    assert item.raw == raw(2)
    gw.mark_processed(item.item_id)
    assert list(gw.fetch_new()) == []
    assert "MoveItem" not in fake.operations
    inbox = fake.in_folder(fake.by_distinguished("inbox"))
    assert [(i.mime, i.is_read) for i in inbox] == [(raw(1), True), (raw(2), True)]


def test_message_gone_between_listing_and_fetch_is_skipped(fake: FakeEws) -> None:
    messages = [raw(n) for n in range(12)]
    for message in messages:
        fake.deliver(message)
    listing = gateway().fetch_new()
    first_batch = [next(listing).raw for _ in range(10)]  # MIME is fetched ten at a time
    gone = fake.in_folder(fake.by_distinguished("inbox"))[10]
    del fake.items[gone.id]  # someone deletes it before its GetItem
    assert first_batch + [i.raw for i in listing] == messages[:10] + messages[11:]


# --- mark processed -------------------------------------------------------------------------------


def test_mark_processed_marks_read_and_moves_to_processed_under_inbox(fake: FakeEws) -> None:
    for n in range(3):
        fake.deliver(raw(n))
    gw = gateway()
    first, second, third = gw.fetch_new()
    fake.operations.clear()
    gw.mark_processed(second.item_id)
    assert fake.operations == ["FindFolder", "GetItem", "UpdateItem", "MoveItem"]
    (moved,) = fake.in_folder(fake.folder_named("Processed"))
    assert moved.mime == raw(1) and moved.is_read
    assert moved.id != second.item_id  # EWS gives a moved item a new id
    assert '<t:FieldURI FieldURI="message:IsRead"/><t:Message><t:IsRead>1</t:IsRead>' in request_xml(
        fake, "UpdateItem"
    )
    assert [i.raw for i in gw.fetch_new()] == [first.raw, third.raw]


def test_mark_processed_twice_is_harmless(fake: FakeEws) -> None:
    fake.deliver(raw(1))
    gw = gateway()
    (item,) = gw.fetch_new()
    gw.mark_processed(item.item_id)
    fake.operations.clear()
    gw.mark_processed(item.item_id)  # the old id is gone after the move
    assert fake.operations == ["GetItem"]
    assert len(fake.in_folder(fake.folder_named("Processed"))) == 1


def test_processed_folder_at_the_top_of_the_store() -> None:
    with running(processed_parent="msgfolderroot") as fake:
        fake.deliver(raw(1))
        gw = gateway()
        (item,) = gw.fetch_new()
        gw.mark_processed(item.item_id)
        assert fake.operations.count("FindFolder") == 2  # under the inbox first, then the top
        (moved,) = fake.in_folder(fake.folder_named("Processed"))
        assert fake.folders[moved.folder].parent == fake.by_distinguished("msgfolderroot").id
        assert list(gw.fetch_new()) == []


def test_missing_processed_folder_changes_nothing() -> None:
    with running(processed_parent=None) as fake:
        fake.deliver(raw(1))
        gw = gateway()
        (item,) = gw.fetch_new()
        with pytest.raises(MailboxError, match="processed folder 'Processed' not found") as info:
            gw.mark_processed(item.item_id)
        assert not isinstance(info.value, TransientMailboxError)
        assert not CHANGES & set(fake.operations)
        assert [i.raw for i in gw.fetch_new()] == [raw(1)]  # still there, still unread
        assert gw.check() == ["EWS: processed folder 'Processed' not found"]


# --- send -----------------------------------------------------------------------------------------


def outbound(*, with_id: bool = True) -> EmailMessage:
    m = EmailMessage()
    m["From"] = f"Safeguarding Reviews <{MAILBOX}>"
    m["To"] = "reviews@police.example"
    m["Subject"] = "[SI-2026-0001] Chronology request — return within 14 days"
    if with_id:
        m["Message-ID"] = "<request.SI-2026-0001.police@partnership.example>"
    m["In-Reply-To"] = "<referral.1@borough.example>"
    m["References"] = "<referral.1@borough.example> <ack.SI-2026-0001@partnership.example>"
    m.set_content("Please complete the attached chronology template.\n")
    m.add_attachment(bytes(range(256)), maintype="application", subtype="pdf", filename="chronology.pdf")
    return m


def test_send_creates_from_mime_and_keeps_threading_headers(fake: FakeEws) -> None:
    message = outbound()
    assert gateway().send(message) == "<request.SI-2026-0001.police@partnership.example>"
    create = request_xml(fake, "CreateItem")
    assert 'MessageDisposition="SendAndSaveCopy"' in create
    assert '<m:SavedItemFolderId><t:DistinguishedFolderId Id="sentitems">' in create
    (sent,) = fake.sent
    copy = email.message_from_bytes(sent, policy=default)
    assert copy["Message-ID"] == "<request.SI-2026-0001.police@partnership.example>"
    assert copy["In-Reply-To"] == "<referral.1@borough.example>"
    # Compared as a list: the email package folds a long References right after the colon.
    assert str(copy["References"]).split() == [
        "<referral.1@borough.example>",
        "<ack.SI-2026-0001@partnership.example>",
    ]
    assert copy["Subject"] == "[SI-2026-0001] Chronology request — return within 14 days"
    assert copy["Date"] is not None
    (attachment,) = copy.iter_attachments()
    assert attachment.get_filename() == "chronology.pdf"
    assert attachment.get_content() == bytes(range(256))
    assert b"\r\n" in sent and b"\n" not in sent.replace(b"\r\n", b"")  # CRLF on the wire
    (saved,) = fake.in_folder(fake.by_distinguished("sentitems"))
    assert saved.mime == sent
    assert list(gateway().fetch_new()) == []  # the sent copy is not inbound mail


def test_send_without_message_id_gets_one_on_the_mailbox_domain(fake: FakeEws) -> None:
    mid = gateway().send(outbound(with_id=False))
    assert mid.startswith("<") and mid.endswith("@partnership.example>")
    assert email.message_from_bytes(fake.sent[0], policy=default)["Message-ID"] == mid


def test_send_refused_by_the_server_raises(fake: FakeEws) -> None:
    fake.create_error = "ErrorMessageSizeExceeded"
    with pytest.raises(MailboxError, match="EWS send: failed \\(ErrorMessageSizeExceeded\\)") as info:
        gateway().send(outbound())
    assert not isinstance(info.value, TransientMailboxError)
    assert fake.sent == []


# --- errors ---------------------------------------------------------------------------------------


def test_bad_credentials_are_not_transient(fake: FakeEws) -> None:
    fake.deliver(raw(1))
    gw = gateway(password="wrong")
    with pytest.raises(MailboxError, match="EWS list inbox: credentials rejected") as info:
        list(gw.fetch_new())
    assert not isinstance(info.value, TransientMailboxError)
    with pytest.raises(MailboxError, match="EWS send: credentials rejected"):
        gw.send(outbound())
    assert gw.check() == ["EWS read inbox: credentials rejected"]
    assert fake.operations == []  # every request stopped at HTTP authentication
    assert fake.sent == []


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        ({"status": 503}, "ErrorServerBusy"),  # exchangelib reraises 503 as busy
        ({"soap_code": "ErrorServerBusy"}, "ErrorServerBusy"),
        ({"exception": requests.ConnectionError("[Errno 111] Connection refused")}, "ErrorTimeoutExpired"),
        ({"exception": requests.Timeout("read timed out")}, "ErrorTimeoutExpired"),
    ],
    ids=["503", "server-busy", "connection-refused", "timeout"],
)
def test_outages_are_transient_and_clear(fake: FakeEws, fault: dict[str, object], cause: str) -> None:
    fake.deliver(raw(1))
    gw = gateway()
    fake.fail_next(**fault)  # type: ignore[arg-type]
    with pytest.raises(TransientMailboxError, match=cause):
        list(gw.fetch_new())
    fake.fail_next(**fault)  # type: ignore[arg-type]
    with pytest.raises(TransientMailboxError):
        gw.send(outbound())
    assert fake.sent == []
    # The same gateway recovers once the server is back (FailFast: no sleeping in between).
    assert [i.raw for i in gw.fetch_new()] == [raw(1)]
    gw.send(outbound())
    assert len(fake.sent) == 1


def test_unreachable_endpoint_is_transient() -> None:
    # No fake at all: every request is refused, as by a host that is down.
    with responses.RequestsMock():
        with pytest.raises(TransientMailboxError, match="EWS list inbox"):
            list(gateway().fetch_new())
        problems = gateway().check()
    assert len(problems) == 1 and "unreachable" in problems[0]


def test_untrusted_certificate_is_not_transient(fake: FakeEws) -> None:
    fake.fail_next(exception=requests.exceptions.SSLError("certificate verify failed: self-signed"))
    with pytest.raises(MailboxError, match="TLS certificate not trusted") as info:
        list(gateway().fetch_new())
    assert not isinstance(info.value, TransientMailboxError)


def test_errors_carry_no_message_content(fake: FakeEws) -> None:
    fake.deliver(raw(1))
    gw = gateway()
    (item,) = gw.fetch_new()
    fake.fail_next(status=503)
    with pytest.raises(MailboxError) as info:
        gw.mark_processed(item.item_id)
    fake.create_error = "ErrorMessageSizeExceeded"
    with pytest.raises(MailboxError) as sent:
        gw.send(outbound())
    for text in (str(info.value), str(sent.value)):
        assert "SI-2026" not in text and "police.example" not in text and "partnership" not in text


# --- check ----------------------------------------------------------------------------------------


def test_check_healthy_is_a_dry_run(fake: FakeEws) -> None:
    fake.deliver(raw(1))
    assert gateway().check() == []
    assert not CHANGES & set(fake.operations)
    assert fake.sent == []
    assert [i.is_read for i in fake.items.values()] == [False]


@pytest.mark.parametrize(
    ("denied", "problem"),
    [
        ({"FindItem"}, "EWS read inbox: missing permission (ErrorAccessDenied)"),
        ({"FindFolder"}, "EWS find processed folder: missing permission (ErrorAccessDenied)"),
    ],
)
def test_check_reports_missing_permission(fake: FakeEws, denied: set[str], problem: str) -> None:
    fake.denied = denied
    assert gateway().check() == [problem]


def test_check_reports_an_unknown_mailbox(fake: FakeEws) -> None:
    assert gateway(mailbox="nobody@partnership.example").check() == ["EWS read inbox: mailbox not found"]


@responses.activate
def test_check_warns_for_exchange_online_and_reports_unreachable() -> None:
    # No response registered: every request fails as a refused connection would.
    problems = gateway("https://outlook.office365.com/EWS/Exchange.asmx").check()
    assert problems[0] == EXCHANGE_ONLINE_WARNING
    assert "1 Oct 2026" in problems[0] and "1 Apr 2027" in problems[0]
    assert len(problems) == 2
    assert problems[1].startswith("EWS") and "unreachable" in problems[1]


def test_oauth_needs_the_app_registration() -> None:
    with pytest.raises(MailboxError, match="GRAPH_TENANT_ID"):
        gateway("https://mail.council.example/EWS/Exchange.asmx", auth_type="oauth").send(
            EmailMessage()
        )
