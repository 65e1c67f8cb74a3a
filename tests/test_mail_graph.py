"""Graph gateway against an in-memory fake of Graph at the HTTP level (no network)."""

from __future__ import annotations

import base64
import json
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
import responses

from bot.mail.gateway import MailboxError, SendOutcomeUnknown, TransientMailboxError
from bot.mail.graph import GraphMailGateway
from bot.mail.graph_client import MsalTokenProvider
from tests.support.fake_graph import BASE, MAILBOX, TOKEN, FakeGraph


def jwt(roles: list[str]) -> str:
    def enc(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{enc({'alg': 'none'})}.{enc({'roles': roles})}.sig"


@pytest.fixture
def fake() -> FakeGraph:
    return FakeGraph()


def make(fake: FakeGraph, tmp_path: Path, **kw: object) -> tuple[GraphMailGateway, list[float]]:
    sleeps: list[float] = []
    kwargs: dict[str, object] = {
        "mailbox": MAILBOX,
        "token_provider": lambda: TOKEN,
        "state_path": tmp_path / "graph-state.json",
        "base_url": BASE,
        "client": httpx.Client(transport=fake.transport()),
        "sleep": sleeps.append,
    }
    kwargs.update(kw)
    return GraphMailGateway(**kwargs), sleeps  # type: ignore[arg-type]


def raw(n: int) -> bytes:
    return (
        f"From: officer@police.example\r\nSubject: return {n}\r\n"
        f"Message-ID: <m{n}@police.example>\r\n\r\nbody {n}\r\n"
    ).encode()


def test_delta_paging_value_and_processing(fake: FakeGraph, tmp_path: Path) -> None:
    for n in range(5):  # three delta pages of two
        fake.deliver(raw(n))
    gw, _ = make(fake, tmp_path)
    items = list(gw.fetch_new())
    assert [i.raw for i in items] == [raw(n) for n in range(5)]  # oldest first
    state = json.loads((tmp_path / "graph-state.json").read_text())
    assert "$deltatoken=" in state["delta_link"]
    # listing changed nothing; a second round (incremental) lists the same, still pending
    assert [i.raw for i in gw.fetch_new()] == [raw(n) for n in range(5)]
    assert all(not m.is_read and m.folder == "inbox" for m in fake.messages.values())

    gw.mark_processed(items[1].item_id)
    gw.mark_processed(items[1].item_id)  # harmless
    moved = fake.messages[items[1].item_id]  # immutable id: same id after the move
    assert moved.folder == "folder-processed" and moved.is_read
    fake.deliver(raw(5))
    restarted, _ = make(fake, tmp_path)
    assert [i.raw for i in restarted.fetch_new()] == [raw(n) for n in (0, 2, 3, 4, 5)]


def test_expired_delta_link_resyncs(fake: FakeGraph, tmp_path: Path) -> None:
    fake.deliver(raw(0))
    gw, _ = make(fake, tmp_path)
    (first,) = gw.fetch_new()
    gw.mark_processed(first.item_id)
    fake.deliver(raw(1))
    fake.expired_tokens.add(str(fake.seq - 1))
    fake.expired_tokens.update(str(s) for s in range(fake.seq + 1))
    assert [i.raw for i in gw.fetch_new()] == [raw(1)]


def test_message_gone_before_fetch_is_skipped(fake: FakeGraph, tmp_path: Path) -> None:
    a = fake.deliver(raw(0))
    fake.deliver(raw(1))
    gw, _ = make(fake, tmp_path)
    it = gw.fetch_new()
    del fake.messages[a]
    assert [i.raw for i in it] == [raw(1)]


def test_throttling_honours_retry_after(fake: FakeGraph, tmp_path: Path) -> None:
    fake.deliver(raw(0))
    gw, sleeps = make(fake, tmp_path)
    fake.throttle(2, retry_after="7")
    fake.throttle(1, retry_after="3", status=503)
    assert [i.raw for i in gw.fetch_new()] == [raw(0)]
    assert sleeps == [7.0, 7.0, 3.0]
    gw, sleeps = make(fake, tmp_path, max_retries=2)
    fake.throttle(3)
    with pytest.raises(TransientMailboxError, match="429"):
        list(gw.fetch_new())
    assert sleeps == [7.0, 7.0]


def test_errors_are_content_free_and_classified(fake: FakeGraph, tmp_path: Path) -> None:
    gw, _ = make(fake, tmp_path, token_provider=lambda: "wrong")
    with pytest.raises(MailboxError, match="credentials rejected") as info:
        list(gw.fetch_new())
    assert not isinstance(info.value, TransientMailboxError)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    gw, _ = make(fake, tmp_path, client=httpx.Client(transport=httpx.MockTransport(down)))
    with pytest.raises(TransientMailboxError, match="unreachable"):
        list(gw.fetch_new())


def outbound(attachment: bytes = b"%PDF small") -> EmailMessage:
    m = EmailMessage()
    m["From"] = f"Safeguarding reviews <{MAILBOX}>"
    m["To"] = "officer@police.example"
    m["Subject"] = "[SAFE-2026-0042] chronology"
    m["Message-ID"] = "<chase-42.2@partnership.example>"
    m["In-Reply-To"] = "<m1@police.example>"
    m["References"] = "<start-42@partnership.example> <m1@police.example>"
    m.set_content("Please return the chronology.")
    m.add_attachment(attachment, maintype="application", subtype="pdf", filename="c.pdf")
    return m


def test_send_as_mime_keeps_threading_headers(fake: FakeGraph, tmp_path: Path) -> None:
    gw, _ = make(fake, tmp_path)
    assert gw.send(outbound()) == "<chase-42.2@partnership.example>"
    (sent,) = fake.sent
    assert sent["Message-ID"] == "<chase-42.2@partnership.example>"
    assert sent["In-Reply-To"] == "<m1@police.example>"
    assert sent["References"] == "<start-42@partnership.example> <m1@police.example>"
    assert [a.get_content() for a in sent.iter_attachments()] == [b"%PDF small"]


def test_large_message_goes_through_an_upload_session(fake: FakeGraph, tmp_path: Path) -> None:
    big = bytes(range(256)) * 2000  # 512,000 bytes
    gw, _ = make(fake, tmp_path, large_message_bytes=100_000, upload_chunk_bytes=320 * 1024)
    gw.send(outbound(big))
    (sent,) = fake.sent
    assert sent["Message-ID"] == "<chase-42.2@partnership.example>"
    assert sent["References"] == "<start-42@partnership.example> <m1@police.example>"
    (att,) = sent.iter_attachments()
    assert att.get_filename() == "c.pdf" and att.get_content() == big
    puts = [r for r in fake.requests if r.method == "PUT"]
    assert len(puts) == 2  # two ranges
    assert all("Authorization" not in r.headers for r in puts)
    assert not [r for r in fake.requests if r.url.path.endswith("/sendMail")]


def test_check(fake: FakeGraph, tmp_path: Path) -> None:
    gw, _ = make(fake, tmp_path)
    assert gw.check() == []
    assert fake.sent == []  # nothing sent

    # a JWT without Mail.Send: the role check says so (the fake accepts only TOKEN, so the
    # inbox read also reports the rejected credentials)
    gw, _ = make(fake, tmp_path, token_provider=lambda: jwt(["Mail.ReadWrite"]))
    problems = gw.check()
    assert problems[0] == "Graph: the app has no Mail.Send application permission (admin consent)"
    assert "credentials rejected" in problems[1]

    fake.forbidden = True
    gw, _ = make(fake, tmp_path)
    assert gw.check() == [
        "Graph read inbox: missing permission or mailbox not allowed (403 ErrorAccessDenied)"
    ]
    fake.forbidden = False
    gw, _ = make(fake, tmp_path, processed_folder="Nope")
    assert gw.check() == ["Graph: processed folder 'Nope' not found"]

    def fail() -> str:
        raise MailboxError("Graph: token request failed: invalid_client (AADSTS7000215)")

    gw, _ = make(fake, tmp_path, token_provider=fail)
    assert gw.check() == ["Graph: token request failed: invalid_client (AADSTS7000215)"]


@responses.activate
def test_msal_token_provider_against_a_fake_token_endpoint() -> None:
    authority = "https://login.test"
    tenant = "tenant-1"
    responses.add(
        responses.GET,
        f"{authority}/{tenant}/v2.0/.well-known/openid-configuration",
        json={
            "token_endpoint": f"{authority}/{tenant}/oauth2/v2.0/token",
            "authorization_endpoint": f"{authority}/{tenant}/oauth2/v2.0/authorize",
            "issuer": f"{authority}/{tenant}/v2.0",
        },
    )
    responses.add(
        responses.POST,
        f"{authority}/{tenant}/oauth2/v2.0/token",
        json={"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600},
    )
    provider = MsalTokenProvider(
        tenant_id=tenant,
        client_id="client-1",
        client_secret="s3cret",
        authority_url=authority,
        graph_base_url="https://graph.test/v1.0",
    )
    assert provider() == "tok-1"
    assert provider() == "tok-1"  # cached
    token_calls = [c for c in responses.calls if c.request.method == "POST"]
    assert len(token_calls) == 1
    assert "scope=https%3A%2F%2Fgraph.test%2F.default" in str(token_calls[0].request.body)

    responses.replace(
        responses.POST,
        f"{authority}/{tenant}/oauth2/v2.0/token",
        status=401,
        json={"error": "invalid_client", "error_codes": [7000215]},
    )
    bad = MsalTokenProvider(
        tenant_id=tenant, client_id="client-2", client_secret="x", authority_url=authority,
    )
    with pytest.raises(MailboxError, match=r"invalid_client \(AADSTS7000215\)"):
        bad()


# --- a send whose answer was lost; the copy in Sent Items (decision 0013) -------------------------


def test_was_sent_finds_the_copy_in_sent_items_by_an_encoded_message_id(
    fake: FakeGraph, tmp_path: Path
) -> None:
    gw, _ = make(fake, tmp_path)
    message = outbound()
    odd = "<o'brien+chase&2#x@partnership.example>"  # a quote, and what a bare URL would mangle
    message.replace_header("Message-ID", odd)
    gw.send(message)
    assert gw.was_sent(odd) is True
    assert gw.was_sent("<o'brien chase&2#x@partnership.example>") is False  # '+' read as a space
    assert gw.was_sent("<chase-42.2@partnership.example>") is False
    (query,) = [r for r in fake.requests if "sentitems" in r.url.path][:1]
    assert "%3Co%27%27brien%2Bchase%262%23x%40partnership.example%3E" in str(query.url)
    # a message in the inbox is not a sent copy
    fake.deliver(b"From: a@police.example\r\nMessage-ID: <inbound-9@police.example>\r\n\r\nx\r\n")
    assert gw.was_sent("<inbound-9@police.example>") is False


def test_a_copy_not_filed_yet_is_not_found(fake: FakeGraph, tmp_path: Path) -> None:
    gw, _ = make(fake, tmp_path)
    fake.filing_delayed = True
    gw.send(outbound())
    assert gw.was_sent("<chase-42.2@partnership.example>") is False
    fake.file_sent_items()
    assert gw.was_sent("<chase-42.2@partnership.example>") is True


@pytest.mark.parametrize(
    "lost",
    [httpx.ReadTimeout("no answer"), httpx.RemoteProtocolError("Server disconnected"),
     httpx.ReadError("Connection reset by peer")],
    ids=["read-timeout", "disconnected", "reset"],
)
def test_an_unanswered_send_is_an_unknown_outcome_and_is_not_retried(
    fake: FakeGraph, tmp_path: Path, lost: Exception
) -> None:
    gw, _ = make(fake, tmp_path)
    fake.lose_answer("/sendMail", exception=lost)
    with pytest.raises(SendOutcomeUnknown, match="no answer after the request went"):
        gw.send(outbound())
    assert len(fake.sent) == 1  # Graph took it; only the answer was lost
    assert len([r for r in fake.requests if r.url.path.endswith("/sendMail")]) == 1
    assert gw.was_sent("<chase-42.2@partnership.example>") is True


def test_a_gateway_timeout_on_send_is_unknown_but_throttling_is_retried(
    fake: FakeGraph, tmp_path: Path
) -> None:
    gw, sleeps = make(fake, tmp_path)
    fake.lose_answer("/sendMail", status=504)
    with pytest.raises(SendOutcomeUnknown, match="504"):
        gw.send(outbound())
    assert len(fake.sent) == 1 and sleeps == []  # not sent a second time by a retry
    fake.throttle(1, retry_after="2", status=503)  # 503: not taken; retried as before
    gw.send(outbound())
    assert len(fake.sent) == 2 and sleeps == [2.0]


def test_a_send_that_never_went_is_a_plain_transient_failure(fake: FakeGraph, tmp_path: Path) -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused")

    gw, _ = make(fake, tmp_path, client=httpx.Client(transport=httpx.MockTransport(refused)))
    with pytest.raises(TransientMailboxError) as info:
        gw.send(outbound())
    assert not isinstance(info.value, SendOutcomeUnknown)
    # a read timeout on a call that sends nothing stays a plain transient failure too
    gw, _ = make(fake, tmp_path)
    fake.lose_answer("/mailFolders/sentitems/messages", exception=httpx.ReadTimeout("slow"))
    with pytest.raises(TransientMailboxError, match="timed out") as info:
        gw.was_sent("<chase-42.2@partnership.example>")
    assert not isinstance(info.value, SendOutcomeUnknown)


def test_a_large_message_whose_send_went_unanswered_is_found_in_sent_items(
    fake: FakeGraph, tmp_path: Path
) -> None:
    gw, _ = make(fake, tmp_path, large_message_bytes=100_000, upload_chunk_bytes=320 * 1024)
    fake.lose_answer("/messages/AAMkDraft0001=/send", exception=httpx.ReadTimeout("no answer"))
    with pytest.raises(SendOutcomeUnknown):
        gw.send(outbound(bytes(200_000)))
    assert len(fake.sent) == 1
    assert gw.was_sent("<chase-42.2@partnership.example>") is True
