"""EWS: a send whose answer was lost, and the copy in Sent Items that tells whether it went.

Against the fake Exchange 2016 endpoint (tests/support/fake_ews.py) at the HTTP level, as in
tests/test_mail_ews.py (which is full). The outbox's use of both is in
tests/test_outbox_unconfirmed.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest
import requests
import responses
from urllib3.exceptions import ProtocolError

from bot.mail.ews import EwsMailGateway
from bot.mail.gateway import MailboxError, SendOutcomeUnknown, TransientMailboxError
from tests.support.fake_ews import ENDPOINT, MAILBOX, PASSWORD, USERNAME, FakeEws

MID = "<request.SI-2026-0001.police@partnership.example>"


@pytest.fixture
def fake() -> Iterator[FakeEws]:
    server = FakeEws()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server.install(mock)
        yield server


def gateway() -> EwsMailGateway:
    return EwsMailGateway(service_endpoint=ENDPOINT, username=USERNAME, password=PASSWORD,
                          mailbox=MAILBOX, auth_type="basic")


def outbound(mid: str = MID) -> EmailMessage:
    m = EmailMessage()
    m["From"] = f"Safeguarding reviews <{MAILBOX}>"
    m["To"] = "officer@police.example"
    m["Subject"] = "[SI-2026-0001] Chronology request"
    m["Message-ID"] = mid
    m.set_content("Please complete the chronology.\n")
    return m


def test_was_sent_looks_in_sent_items_by_internet_message_id(fake: FakeEws) -> None:
    gw = gateway()
    assert gw.was_sent(MID) is False
    gw.send(outbound())
    assert gw.was_sent(MID) is True
    assert gw.was_sent("<request.SI-2026-0001.icb@partnership.example>") is False
    find = [bytes(r.body).decode() for r in fake.requests if r.body and b"<m:FindItem" in bytes(r.body)]
    assert 'FieldURI="message:InternetMessageId"' in find[-1]
    assert '<t:DistinguishedFolderId Id="sentitems">' in find[-1]
    # a message in the inbox is not a sent copy
    fake.deliver(b"From: a@police.example\r\nMessage-ID: <in.1@police.example>\r\n\r\nx\r\n")
    assert gw.was_sent("<in.1@police.example>") is False


@pytest.mark.parametrize(
    "lost",
    [
        requests.exceptions.ReadTimeout("Read timed out. (read timeout=120)"),
        requests.exceptions.ConnectionError(
            ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
        ),
        requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"),
    ],
    ids=["read-timeout", "reset-while-waiting", "answer-cut-off"],
)
def test_a_send_whose_answer_was_lost_is_an_unknown_outcome(fake: FakeEws, lost: Exception) -> None:
    gw = gateway()
    fake.lose_answer("CreateItem", exception=lost)
    with pytest.raises(SendOutcomeUnknown, match="EWS send: no answer after the request went"):
        gw.send(outbound())
    assert len(fake.sent) == 1  # Exchange took it
    assert gw.was_sent(MID) is True


@pytest.mark.parametrize(
    "before",
    [
        requests.exceptions.ConnectionError("[Errno 111] Connection refused"),
        requests.exceptions.ConnectTimeout("Connection to mail.council.test timed out"),
    ],
    ids=["refused", "connect-timeout"],
)
def test_a_send_that_never_went_is_a_plain_transient_failure(fake: FakeEws, before: Exception) -> None:
    gw = gateway()
    fake.lose_answer("CreateItem", exception=before, carried_out=False)
    with pytest.raises(TransientMailboxError) as info:
        gw.send(outbound())
    assert not isinstance(info.value, SendOutcomeUnknown)
    assert fake.sent == []
    # a read timeout on the folder lookup before it is no unknown outcome either
    fresh = gateway()
    fake.lose_answer("GetFolder", exception=requests.exceptions.ReadTimeout("slow"), carried_out=False)
    with pytest.raises(TransientMailboxError) as info:
        fresh.send(outbound())
    assert not isinstance(info.value, SendOutcomeUnknown)
    assert fake.sent == []


def test_a_look_that_fails_raises(fake: FakeEws) -> None:
    gw = gateway()
    gw.send(outbound())
    fake.fail_next(status=503)
    with pytest.raises(TransientMailboxError, match="EWS find in sent items"):
        gw.was_sent(MID)
    fake.denied.add("FindItem")
    with pytest.raises(MailboxError, match="EWS find in sent items: missing permission"):
        gw.was_sent(MID)
