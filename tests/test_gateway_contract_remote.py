"""The gateway contract (tests/test_gateway_contract.py) run against the Graph, EWS and IMAP gateways.

Its test functions are reused unchanged; only the ``gateway_env`` fixture differs. Graph runs
against the fake in tests/support/fake_graph.py, EWS against the canned-SOAP fake in
tests/support/fake_ews.py (through ``responses``), IMAP against a real Dovecot. A separate
module rather than extra params there because IMAP cannot keep bare-LF line endings: RFC 3501
messages are CRLF on the wire, so Dovecot hands back ``\\r\\n`` whatever was appended. For IMAP
the contract's ``inbound`` builder is swapped for a CRLF one; every assertion is otherwise as is.
"""

from __future__ import annotations

import email
from collections.abc import Iterator
from contextlib import contextmanager
from email.policy import default
from pathlib import Path

import httpx
import pytest
import responses

from bot.mail.ews import EwsMailGateway
from bot.mail.graph import GraphMailGateway
from bot.mail.imap import ImapSmtpGateway
from tests import test_gateway_contract as contract
from tests.support import fake_ews
from tests.support.dovecot import DOVECOT, DovecotServer, dovecot_server, free_port
from tests.support.fake_ews import FakeEws
from tests.support.fake_graph import BASE, MAILBOX, TOKEN, FakeGraph
from tests.test_gateway_contract import GatewayEnv

globals().update(
    {
        name: fn
        for name, fn in vars(contract).items()
        if name.startswith("test_") and not name.startswith("test_maildir") and callable(fn)
    }
)


@contextmanager
def graph_env(tmp_path: Path) -> Iterator[GatewayEnv]:
    fake = FakeGraph()
    gateway = GraphMailGateway(
        mailbox=MAILBOX,
        token_provider=lambda: TOKEN,
        state_path=tmp_path / "graph.json",
        base_url=BASE,
        client=httpx.Client(transport=fake.transport()),
        sleep=lambda _: None,
    )

    def deliver(raw: bytes) -> None:
        fake.deliver(raw)

    yield GatewayEnv(
        gateway=gateway,
        deliver=deliver,
        sent=lambda: [m.as_bytes() for m in fake.sent],
    )


@contextmanager
def ews_env(tmp_path: Path) -> Iterator[GatewayEnv]:
    fake = FakeEws()
    # Only the EWS endpoint answers: any other request (autodiscover, say) fails the test.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        gateway = EwsMailGateway(
            service_endpoint=fake_ews.ENDPOINT,
            username=fake_ews.USERNAME,
            password=fake_ews.PASSWORD,
            mailbox=fake_ews.MAILBOX,
            auth_type="basic",
        )

        def deliver(raw: bytes) -> None:
            fake.deliver(raw)

        yield GatewayEnv(gateway=gateway, deliver=deliver, sent=lambda: list(fake.sent))


_servers: dict[str, DovecotServer] = {}
_user_counter = [0]


@contextmanager
def imap_env(tmp_path: Path) -> Iterator[GatewayEnv]:
    server = _servers["imap"]
    _user_counter[0] += 1
    user = f"c{_user_counter[0]}"
    server.create_folder(user, "Processed")
    sent: list[bytes] = []

    class CapturingSmtp(ImapSmtpGateway):
        # The SMTP half is covered against aiosmtpd in test_mail_imap.py; here what goes out
        # is captured at the smtplib boundary so the contract can read it back.
        def send(self, message: email.message.EmailMessage) -> str:  # type: ignore[override]
            import smtplib
            from unittest import mock

            def fake_send(msg: email.message.EmailMessage, **_: object) -> dict[str, object]:
                sent.append(msg.as_bytes(policy=default))
                return {}

            with mock.patch.object(smtplib, "SMTP") as smtp_cls:
                smtp_cls.return_value.send_message.side_effect = fake_send
                return super().send(message)

    gateway = CapturingSmtp(
        imap_host=server.host,
        imap_port=server.port,
        imap_security="none",
        imap_username=user,
        imap_password=server.users[user],
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_security="none",
        mail_from="reviews@partnership.example",
        state_path=tmp_path / "imap.json",
        timeout=5.0,
    )
    yield GatewayEnv(
        gateway=gateway, deliver=lambda raw: server.deliver(user, raw), sent=lambda: list(sent)
    )


@pytest.fixture(scope="module")
def _dovecot() -> Iterator[None]:
    if DOVECOT is None:
        yield
        return
    with dovecot_server({f"c{i}": f"p{i}" for i in range(1, 60)}) as server:
        _servers["imap"] = server
        yield
        _servers.pop("imap", None)


@pytest.fixture(
    params=[
        pytest.param(graph_env, id="graph"),
        pytest.param(ews_env, id="ews"),
        pytest.param(imap_env, id="imap"),
    ]
)
def gateway_env(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    _dovecot: None,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[GatewayEnv]:
    if request.param is imap_env:
        if DOVECOT is None:
            pytest.skip("dovecot missing: run scripts/test-deps.sh")
        if request.node.originalname == "test_crlf_message_is_fetched_byte_identical":
            pytest.skip("IMAP messages are CRLF already: every other IMAP run covers this")
        original = contract.inbound

        def crlf_inbound(n: int, *, body: str = "Return attached.\n") -> bytes:
            return original(n, body=body).replace(b"\n", b"\r\n")

        monkeypatch.setattr(contract, "inbound", crlf_inbound)
    with request.param(tmp_path) as env:
        yield env


@pytest.fixture
def gateway(gateway_env: GatewayEnv) -> object:
    return gateway_env.gateway
