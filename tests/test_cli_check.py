"""``review-bot check`` through click's CliRunner, configured only by environment variables.

Each backend is checked the way an operator would run it, against the same fakes and servers as
the gateway tests: Maildir as it is; Graph against tests/support/fake_graph.py, served over a
loopback HTTP server and reached through ``GRAPH_BASE_URL`` (msal's token endpoint faked with
``responses`` at ``GRAPH_AUTHORITY_URL``), so no seam in the production code is needed; EWS
against tests/support/fake_ews.py; IMAP against a throwaway Dovecot with aiosmtpd for SMTP.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import responses
from aiosmtpd.controller import Controller
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, inspect

from bot.at_rest import fallback_kek, fingerprint
from bot.cli import main
from bot.mail.ews import EXCHANGE_ONLINE_WARNING
from tests.support import fake_ews, fake_graph
from tests.support.dovecot import DOVECOT, DovecotServer, dovecot_server, free_port
from tests.support.fake_ews import FakeEws
from tests.support.fake_graph import FakeGraph

AUTHORITY = "https://login.test"
TENANT = "tenant-1"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> dict[str, str]:
    """Settings for a bot living in ``tmp_path``; tests add the mailbox they check."""
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    # The loopback Graph server must not be sent through a proxy from the environment.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    return {
        "DATABASE_URL": database_url,
        "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
        "STATE_DIR": str(tmp_path / "state"),
        "PROTOCOL_FILE": "",
        "MAIL_FROM": "reviews@partnership.example",
        "MAIL_BACKEND": "maildir",
        "MAILDIR": str(tmp_path / "mail"),
    }


def check(env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, ["check"], env=env)


# --- Maildir and the protocol ---------------------------------------------------------------------


def test_maildir_is_healthy(env: dict[str, str]) -> None:
    result = check(env)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "protocol: ok (Example Safeguarding Children Partnership, preset working-together-2023, "
        "6 agencies)",
        "sender verification: off (partnership.authserv_id is empty: every sender counts); "
        "boundary other",
        f"database: ok ({env['DATABASE_URL']})",
        f"data key: ok (DATA_KEY, key id {fingerprint(fallback_kek() or b'')})",  # the tests' key
        "slack: off",
        "teams: off",
        f"mailbox: ok (maildir:{env['MAILDIR']})",
    ]
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("partnership", "expected"),
    [
        ('authserv_id = "mx.anytown.gov.example"',
         "Authentication-Results from 'mx.anytown.gov.example'; boundary other "
         "(X-MS-Exchange-Organization-* headers ignored)"),
        ('authserv_id = "eop"',
         "Authentication-Results from 'eop'; boundary exchange "
         "(X-MS-Exchange-Organization-* headers trusted)"),
        ('authserv_id = "mx.anytown.gov.example"\nmail_boundary = "exchange"',
         "Authentication-Results from 'mx.anytown.gov.example'; boundary exchange "
         "(X-MS-Exchange-Organization-* headers trusted)"),
        ('authserv_id = "eop"\nmail_boundary = "other"',
         "Authentication-Results from 'eop'; boundary other (X-MS-Exchange-Organization-* headers ignored)"),
    ],
)
def test_check_says_what_sender_verification_trusts(
    env: dict[str, str], tmp_path: Path, partnership: str, expected: str
) -> None:
    protocol = tmp_path / "anytown.toml"
    protocol.write_text(f"[partnership]\nname = \"Anytown\"\n{partnership}\n")
    result = check({**env, "PROTOCOL_FILE": str(protocol)})
    assert result.exit_code == 0, result.output
    assert any(line.startswith(f"sender verification: {expected}") for line in result.stdout.splitlines())


def test_an_unknown_mail_boundary_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    protocol = tmp_path / "anytown.toml"
    protocol.write_text('[partnership]\nname = "Anytown"\nmail_boundary = "postfix"\n')
    result = check({**env, "PROTOCOL_FILE": str(protocol)})
    assert result.exit_code == 2
    assert "partnership.mail_boundary" in result.stderr and "exchange, other" in result.stderr


def test_broken_protocol_names_the_file_and_the_field(env: dict[str, str], tmp_path: Path) -> None:
    protocol = tmp_path / "anytown.toml"
    protocol.write_text('preset = "kirklees"\n\n[roles.business_manager]\nemail = "not an address"\n')
    result = check({**env, "PROTOCOL_FILE": str(protocol)})
    assert result.exit_code == 2
    assert str(protocol) in result.stderr
    assert "roles.business_manager.email" in result.stderr
    assert "protocol: ok" not in result.stdout
    # It stops there: neither the database nor the mailbox is touched.
    engine = create_engine(env["DATABASE_URL"])
    assert inspect(engine).get_table_names() == []
    engine.dispose()
    assert "mailbox" not in result.output


# --- Microsoft Graph --------------------------------------------------------------------------------


class _GraphBridge(BaseHTTPRequestHandler):
    """Relays loopback HTTP to FakeGraph, as if it were graph.microsoft.com."""

    server: Any

    def _relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = httpx.Request(
            self.command,
            "https://graph.test" + self.path,  # the fake only reads the path and the query
            headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
            content=body,
        )
        response = self.server.fake.handle(request)
        payload = response.read()
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = _relay

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


@contextmanager
def graph_served(fake: FakeGraph) -> Iterator[str]:
    """The fake on a loopback port; yields the GRAPH_BASE_URL to use."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GraphBridge)
    server.fake = fake  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1.0"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def token_endpoint(**token_response: Any) -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(
            responses.GET,
            f"{AUTHORITY}/{TENANT}/v2.0/.well-known/openid-configuration",
            json={
                "token_endpoint": f"{AUTHORITY}/{TENANT}/oauth2/v2.0/token",
                "authorization_endpoint": f"{AUTHORITY}/{TENANT}/oauth2/v2.0/authorize",
                "issuer": f"{AUTHORITY}/{TENANT}/v2.0",
            },
        )
        status = int(token_response.pop("status", 200))
        body = token_response or {
            "access_token": fake_graph.TOKEN, "token_type": "Bearer", "expires_in": 3600,
        }
        mock.add(responses.POST, f"{AUTHORITY}/{TENANT}/oauth2/v2.0/token", status=status, json=body)
        yield mock


def graph_env(env: dict[str, str], base_url: str, **extra: str) -> dict[str, str]:
    return {
        **env,
        "MAIL_BACKEND": "graph",
        "GRAPH_TENANT_ID": TENANT,
        "GRAPH_CLIENT_ID": "client-1",
        "GRAPH_CLIENT_SECRET": "s3cret",
        "GRAPH_MAILBOX": fake_graph.MAILBOX,
        "GRAPH_BASE_URL": base_url,
        "GRAPH_AUTHORITY_URL": AUTHORITY,
        **extra,
    }


def test_graph_is_healthy(env: dict[str, str]) -> None:
    fake = FakeGraph()
    with graph_served(fake) as base_url, token_endpoint() as tokens:
        result = check(graph_env(env, base_url))
        token_posts = [c for c in tokens.calls if c.request.method == "POST"]
    assert result.exit_code == 0, result.output
    assert f"mailbox: ok (graph:{fake_graph.MAILBOX})" in result.stdout
    assert result.stderr == ""
    # It really went to the fake: the inbox read and the folder lookup, with msal's token.
    paths = [r.url.path for r in fake.requests]
    assert f"/v1.0/users/{fake_graph.MAILBOX}/mailFolders/inbox/messages" in paths
    assert all(r.headers["Authorization"] == f"Bearer {fake_graph.TOKEN}" for r in fake.requests)
    assert len(token_posts) == 1
    assert fake.sent == []  # a dry run


def test_graph_problems_are_one_line_each(env: dict[str, str]) -> None:
    fake = FakeGraph()
    with graph_served(fake) as base_url, token_endpoint():
        result = check(graph_env(env, base_url, GRAPH_PROCESSED_FOLDER="Nope"))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["mailbox: Graph: processed folder 'Nope' not found"]


def test_graph_rejected_client_secret(env: dict[str, str]) -> None:
    fake = FakeGraph()
    rejected = {"status": 401, "error": "invalid_client", "error_codes": [7000215]}
    with graph_served(fake) as base_url, token_endpoint(**rejected):
        result = check(graph_env(env, base_url))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "mailbox: Graph: token request failed: invalid_client (AADSTS7000215)"
    ]
    assert fake.requests == []  # no token, no Graph call


# --- EWS ----------------------------------------------------------------------------------------------


def ews_env(env: dict[str, str], endpoint: str = fake_ews.ENDPOINT) -> dict[str, str]:
    return {
        **env,
        "MAIL_BACKEND": "ews",
        "EWS_SERVICE_ENDPOINT": endpoint,
        "EWS_AUTH_TYPE": "basic",
        "EWS_USERNAME": fake_ews.USERNAME,
        "EWS_PASSWORD": fake_ews.PASSWORD,
        "EWS_MAILBOX": fake_ews.MAILBOX,
    }


def test_ews_is_healthy(env: dict[str, str]) -> None:
    fake = FakeEws()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        result = check(ews_env(env))
    assert result.exit_code == 0, result.output
    assert f"mailbox: ok (ews:{fake_ews.MAILBOX})" in result.stdout
    assert {"FindItem", "FindFolder"} <= set(fake.operations)
    assert not {"CreateItem", "UpdateItem", "MoveItem"} & set(fake.operations)


def test_ews_on_exchange_online_is_warned_about(env: dict[str, str]) -> None:
    with responses.RequestsMock():  # nothing answers: Exchange Online is not reachable from here
        result = check(ews_env(env, "https://outlook.office365.com/EWS/Exchange.asmx"))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"mailbox: {EXCHANGE_ONLINE_WARNING}"
    assert lines[1].startswith("mailbox: EWS read inbox: ") and "unreachable" in lines[1]


# --- IMAP + SMTP ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotServer]:
    if DOVECOT is None:
        pytest.skip("dovecot missing: run scripts/test-deps.sh")
    with dovecot_server({"reviews": "imap-pw"}) as server:
        server.create_folder("reviews", "Processed")
        yield server


class _Sink:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[int, _Sink]]:
    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, sink
    finally:
        controller.stop()


def imap_env(env: dict[str, str], dovecot: DovecotServer, smtp_port: int, **extra: str) -> dict[str, str]:
    return {
        **env,
        "MAIL_BACKEND": "imap",
        "IMAP_HOST": dovecot.host,
        "IMAP_PORT": str(dovecot.port),
        "IMAP_SECURITY": "none",
        "IMAP_USERNAME": "reviews",
        "IMAP_PASSWORD": "imap-pw",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_SECURITY": "none",
        **extra,
    }


def test_imap_is_healthy(
    env: dict[str, str], dovecot: DovecotServer, smtp: tuple[int, _Sink]
) -> None:
    port, sink = smtp
    result = check(imap_env(env, dovecot, port))
    assert result.exit_code == 0, result.output
    assert f"mailbox: ok (imap:{dovecot.host}/INBOX)" in result.stdout
    assert sink.envelopes == []  # MAIL FROM then RSET: nothing sent


def test_imap_unreachable_port_says_so(
    env: dict[str, str], dovecot: DovecotServer, smtp: tuple[int, _Sink]
) -> None:
    port, _ = smtp
    result = check(imap_env(env, dovecot, port, IMAP_PORT=str(free_port())))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()  # SMTP is fine: one line, about IMAP
    assert line.startswith("mailbox: IMAP: IMAP connect: server unreachable: ConnectionRefusedError")
    assert "Traceback" not in result.output
