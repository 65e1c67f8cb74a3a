"""IMAP/SMTP over TLS: implicit TLS and STARTTLS against local servers with a private CA.

A CA and a server certificate for ``127.0.0.1``/``localhost`` are made at test time with
``cryptography``. Dovecot serves STARTTLS on its IMAP port and implicit TLS on its IMAPS port;
aiosmtpd serves SMTP with STARTTLS required before MAIL and AUTH, and SMTPS. That the
STARTTLS runs really negotiated TLS shows twice: the same runs fail when the CA is not trusted,
and the SMTP server records whether each message arrived over TLS.

The gateway must trust the server only through ``IMAP_CA_FILE`` / ``SMTP_CA_FILE``: without
them (the system trust store) or with a CA that did not sign the certificate it refuses to
connect, with a plain (not transient) :class:`MailboxError` saying the certificate is not trusted.
"""

from __future__ import annotations

import email
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bot.mail.factory import build_gateway
from bot.mail.gateway import MailboxError, TransientMailboxError
from bot.mail.imap import ImapSmtpGateway, Security
from bot.settings import Settings
from tests.support.dovecot import DOVECOT, DovecotServer, TlsFiles, dovecot_server, free_port

pytestmark = pytest.mark.skipif(DOVECOT is None, reason="dovecot missing: run scripts/test-deps.sh")

USERS = {f"tls{i}": f"tls-pw{i}" for i in range(20)}
SMTP_LOGIN = (b"bot", b"smtp-pw")


# --- a private CA ---------------------------------------------------------------------------------


@dataclass
class Pki:
    server: TlsFiles  # the server's certificate and key, signed by ``server.ca``
    other_ca: Path  # a CA that signed nothing the servers present

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.server.cert, self.server.key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _make_ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    # EC keys: generated in milliseconds, unlike RSA.
    base = tmp_path_factory.mktemp("pki")
    ca_cert, ca_key = _make_ca("Review Bot Test CA")
    other_cert, _ = _make_ca("Someone Else's CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(cert=base / "server.pem", key=base / "server.key", ca=base / "ca.pem")
    files.cert.write_bytes(_pem(cert))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.key.chmod(0o600)
    files.ca.write_bytes(_pem(ca_cert))
    other = base / "other-ca.pem"
    other.write_bytes(_pem(other_cert))
    return Pki(server=files, other_ca=other)


# --- servers --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dovecot(pki: Pki) -> Iterator[DovecotServer]:
    with dovecot_server(USERS, tls=pki.server) as server:
        yield server


_users = iter(USERS)


@pytest.fixture
def user(dovecot: DovecotServer) -> str:
    name = next(_users)
    dovecot.create_folder(name, "Processed")
    return name


class Recorder:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # Record whether this connection was TLS (STARTTLS or implicit): an SSL transport
        # carries an ssl_object, a plain one does not.
        over_tls = server.transport.get_extra_info("ssl_object") is not None
        self.envelopes.append((envelope, over_tls))
        return "250 OK"


def _auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == SMTP_LOGIN
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServers:
    recorder: Recorder
    starttls_port: int
    implicit_port: int


@pytest.fixture(scope="module")
def smtp(pki: Pki) -> Iterator[SmtpServers]:
    recorder = Recorder()
    context = pki.server_context()
    starttls = Controller(
        recorder, hostname="127.0.0.1", port=free_port(), authenticator=_auth,
        tls_context=context, require_starttls=True, auth_require_tls=True,
    )
    implicit = Controller(
        recorder, hostname="127.0.0.1", port=free_port(), authenticator=_auth,
        ssl_context=context,
        # aiosmtpd only counts STARTTLS as TLS for AUTH; here the whole connection is TLS.
        auth_require_tls=False,
    )
    starttls.start()
    implicit.start()
    try:
        yield SmtpServers(recorder, starttls.port, implicit.port)
    finally:
        starttls.stop()
        implicit.stop()


# --- the gateway ----------------------------------------------------------------------------------


def make_gateway(
    dovecot: DovecotServer,
    smtp: SmtpServers,
    user: str,
    tmp_path: Path,
    *,
    imap: Security,
    smtp_security: Security,
    ca: Path | None,
) -> ImapSmtpGateway:
    return ImapSmtpGateway(
        imap_host=dovecot.host,
        imap_port=dovecot.tls_port if imap == "tls" else dovecot.port,  # type: ignore[arg-type]
        imap_security=imap,
        imap_username=user,
        imap_password=USERS[user],
        smtp_host="127.0.0.1",
        smtp_port=smtp.implicit_port if smtp_security == "tls" else smtp.starttls_port,
        smtp_security=smtp_security,
        smtp_username=SMTP_LOGIN[0].decode(),
        smtp_password=SMTP_LOGIN[1].decode(),
        mail_from="reviews@partnership.example",
        state_path=tmp_path / "imap-state.json",
        timeout=5.0,
        imap_ca_file=ca,
        smtp_ca_file=ca,
    )


def raw_message(n: int) -> bytes:
    return (
        f"From: officer{n}@police.example\r\nTo: reviews@partnership.example\r\n"
        f"Subject: return {n}\r\nMessage-ID: <tls{n}@police.example>\r\n\r\nbody {n}\r\n"
    ).encode()


def outbound() -> EmailMessage:
    m = EmailMessage()
    m["From"] = "reviews@partnership.example"
    m["To"] = "officer@police.example"
    m["Subject"] = "[SI-2026-0001] chronology"
    m["Message-ID"] = "<tls-out@partnership.example>"
    m["In-Reply-To"] = "<tls1@police.example>"
    m.set_content("Please return the chronology.")
    return m


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_imap_over_tls_with_the_ca_file(
    dovecot: DovecotServer, smtp: SmtpServers, pki: Pki, user: str, tmp_path: Path,
    security: Security,
) -> None:
    dovecot.deliver(user, raw_message(1))
    dovecot.deliver(user, raw_message(2))
    gw = make_gateway(dovecot, smtp, user, tmp_path, imap=security, smtp_security="starttls",
                      ca=pki.server.ca)
    first, second = gw.fetch_new()
    assert (first.raw, second.raw) == (raw_message(1), raw_message(2))
    gw.mark_processed(first.item_id)
    assert [i.raw for i in gw.fetch_new()] == [raw_message(2)]
    assert dovecot.count(user, "Processed") == 1


@pytest.mark.parametrize("security", ["tls", "starttls"])
@pytest.mark.parametrize("trust", ["system", "other-ca"])
def test_imap_refuses_a_certificate_it_does_not_trust(
    dovecot: DovecotServer, smtp: SmtpServers, pki: Pki, user: str, tmp_path: Path,
    security: Security, trust: str,
) -> None:
    dovecot.deliver(user, raw_message(1))
    ca = None if trust == "system" else pki.other_ca
    gw = make_gateway(dovecot, smtp, user, tmp_path, imap=security, smtp_security="starttls", ca=ca)
    with pytest.raises(MailboxError, match="IMAP connect: TLS certificate not trusted") as info:
        list(gw.fetch_new())
    assert not isinstance(info.value, TransientMailboxError)  # a person has to fix this


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_smtp_over_tls_with_the_ca_file(
    dovecot: DovecotServer, smtp: SmtpServers, pki: Pki, user: str, tmp_path: Path,
    security: Security,
) -> None:
    smtp.recorder.envelopes.clear()
    gw = make_gateway(dovecot, smtp, user, tmp_path, imap="starttls", smtp_security=security,
                      ca=pki.server.ca)
    assert gw.send(outbound()) == "<tls-out@partnership.example>"
    ((envelope, over_tls),) = smtp.recorder.envelopes
    assert over_tls
    got = email.message_from_bytes(envelope.original_content, policy=default)
    assert got["Message-ID"] == "<tls-out@partnership.example>"
    assert got["In-Reply-To"] == "<tls1@police.example>"


@pytest.mark.parametrize("security", ["tls", "starttls"])
@pytest.mark.parametrize("trust", ["system", "other-ca"])
def test_smtp_refuses_a_certificate_it_does_not_trust(
    dovecot: DovecotServer, smtp: SmtpServers, pki: Pki, user: str, tmp_path: Path,
    security: Security, trust: str,
) -> None:
    smtp.recorder.envelopes.clear()
    ca = None if trust == "system" else pki.other_ca
    gw = make_gateway(dovecot, smtp, user, tmp_path, imap="starttls", smtp_security=security, ca=ca)
    with pytest.raises(MailboxError, match="SMTP send: TLS certificate not trusted") as info:
        gw.send(outbound())
    assert not isinstance(info.value, TransientMailboxError)
    assert smtp.recorder.envelopes == []  # nothing went out over the untrusted connection


# --- the settings ---------------------------------------------------------------------------------


def settings(dovecot: DovecotServer, smtp: SmtpServers, pki: Pki, user: str,
             **overrides: object) -> Settings:
    values: dict[str, object] = {
        "mail_backend": "imap",
        "mail_from": "reviews@partnership.example",
        "imap_host": dovecot.host,
        "imap_port": dovecot.tls_port,
        "imap_security": "tls",
        "imap_username": user,
        "imap_password": USERS[user],
        "imap_ca_file": str(pki.server.ca),
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.starttls_port,
        "smtp_security": "starttls",
        "smtp_username": SMTP_LOGIN[0].decode(),
        "smtp_password": SMTP_LOGIN[1].decode(),
        "smtp_ca_file": str(pki.server.ca),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type, call-arg]


def test_ca_file_settings_reach_the_gateway(
    dovecot: DovecotServer, smtp: SmtpServers, pki: Pki, user: str, tmp_path: Path
) -> None:
    smtp.recorder.envelopes.clear()
    gateway = build_gateway(settings(dovecot, smtp, pki, user), state_dir=tmp_path)
    assert gateway.check() == []
    assert smtp.recorder.envelopes == []  # check is a dry run
    unset = build_gateway(
        settings(dovecot, smtp, pki, user, imap_ca_file="", smtp_ca_file=""), state_dir=tmp_path
    )
    problems = unset.check()
    assert [p.split(": TLS certificate not trusted")[0] for p in problems] == [
        "IMAP: IMAP connect",
        "SMTP: SMTP check",
    ]


def test_an_unreadable_ca_file_is_reported_not_retried(
    dovecot: DovecotServer, smtp: SmtpServers, pki: Pki, user: str, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-ca.pem"
    gateway = build_gateway(
        settings(dovecot, smtp, pki, user, imap_ca_file=str(missing), smtp_ca_file=str(missing)),
        state_dir=tmp_path,
    )
    with pytest.raises(MailboxError, match="IMAP_CA_FILE") as info:
        list(gateway.fetch_new())
    assert not isinstance(info.value, TransientMailboxError)
    assert gateway.check() == [
        f"IMAP: IMAP_CA_FILE {missing} cannot be used: FileNotFoundError",
        f"SMTP: SMTP_CA_FILE {missing} cannot be used: FileNotFoundError",
    ]
