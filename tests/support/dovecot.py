"""A throwaway Dovecot IMAP server for tests: own config in a temp dir, a free loopback port.

Needs Debian's ``dovecot-imapd`` (``scripts/test-deps.sh`` installs it). Users come from a static
passwd-file; plaintext auth is allowed (loopback only, no TLS). When the tests run as root the
mail processes run as the ``mail`` user (Dovecot refuses uid 0); otherwise as the current user.

With ``tls=TlsFiles(...)`` the server also speaks TLS: STARTTLS on ``port`` and implicit TLS on
``tls_port``. Plaintext logins stay possible (Dovecot counts a loopback connection as secured),
so the helpers below keep working unchanged.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
#: Debian's DH parameters; Dovecot 2.3 warns at start-up without ``ssl_dh``.
DH_PARAMS = Path("/usr/share/dovecot/dh.pem")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class TlsFiles:
    """PEM files for a TLS server: its certificate and key, and the CA that signed it."""

    cert: Path
    key: Path
    ca: Path


@dataclass
class DovecotServer:
    host: str
    port: int
    base: Path
    users: dict[str, str]
    #: Implicit TLS (imaps) port, when started with ``tls``.
    tls_port: int | None = None

    def client(self, user: str) -> imaplib.IMAP4:
        c = imaplib.IMAP4(self.host, self.port, timeout=10)
        c.login(user, self.users[user])
        return c

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        c = self.client(user)
        try:
            typ, _ = c.append(folder, None, None, raw)
            assert typ == "OK"
        finally:
            c.logout()

    def create_folder(self, user: str, folder: str) -> None:
        c = self.client(user)
        try:
            c.create(folder)
        finally:
            c.logout()

    def count(self, user: str, folder: str) -> int:
        c = self.client(user)
        try:
            typ, data = c.select(folder, readonly=True)
            assert typ == "OK"
            return int(data[0] or 0)
        finally:
            c.logout()


@contextlib.contextmanager
def dovecot_server(users: dict[str, str], tls: TlsFiles | None = None) -> Iterator[DovecotServer]:
    if DOVECOT is None:
        raise RuntimeError("dovecot is not installed: run scripts/test-deps.sh")
    base = Path(tempfile.mkdtemp(prefix="review-bot-dovecot-"))
    os.chmod(base, 0o755)
    try:
        if os.geteuid() == 0:
            pw = pwd.getpwnam("mail")
            uid, gid, user_name = pw.pw_uid, pw.pw_gid, None
        else:
            uid, gid = os.getuid(), os.getgid()
            user_name = pwd.getpwuid(uid).pw_name
        for sub in ("run", "state", "mail", "home"):
            (base / sub).mkdir()
        for sub in ("mail", "home"):
            os.chown(base / sub, uid, gid)
        (base / "users").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in users.items()))
        port = free_port()
        tls_port = free_port() if tls else None
        extra = ""
        if user_name is not None:
            group = grp.getgrgid(gid).gr_name
            extra = (
                f"default_internal_user = {user_name}\ndefault_internal_group = {group}\n"
                f"default_login_user = {user_name}\n"
            )
        # Port 0 switches the implicit TLS listener off.
        imaps = f"address = 127.0.0.1\n    port = {tls_port}\n    ssl = yes" if tls_port else "port = 0"
        (base / "dovecot.conf").write_text(
            f"""base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
{_ssl_settings(tls)}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
mail_location = maildir:{base}/mail/%u
first_valid_uid = {uid}
{extra}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    {imaps}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""
        )
        conf = str(base / "dovecot.conf")
        # The daemon keeps its stdio: hand it files, not pipes, or run() waits for it to exit.
        with open(base / "startup.log", "wb") as out:
            subprocess.run(
                [DOVECOT, "-c", conf], check=True, stdin=subprocess.DEVNULL, stdout=out,
                stderr=out, timeout=20,
            )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    for listening in (port, tls_port):
                        if listening is not None:
                            socket.create_connection(("127.0.0.1", listening), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        log = (base / "dovecot.log").read_text() if (base / "dovecot.log").exists() else ""
                        raise RuntimeError(f"dovecot did not start: {log}") from None
                    time.sleep(0.05)
            yield DovecotServer("127.0.0.1", port, base, dict(users), tls_port)
        finally:
            _stop(base / "run" / "master.pid")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _ssl_settings(tls: TlsFiles | None) -> str:
    if tls is None:
        return "ssl = no"
    lines = ["ssl = yes", f"ssl_cert = <{tls.cert}", f"ssl_key = <{tls.key}"]
    if DH_PARAMS.exists():
        lines.append(f"ssl_dh = <{DH_PARAMS}")
    return "\n".join(lines)


def _stop(pid_file: Path) -> None:
    """SIGTERM the master (only the one this fixture started); its children follow it.

    The master takes a few seconds to wind down its idle login processes; the tests do not wait
    for that.
    """
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 0.2
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
