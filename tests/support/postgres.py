"""A throwaway PostgreSQL server for the tests: initdb + pg_ctl on a free loopback port.

No mocks (DEVELOPERS.md): the suite runs against the real server from Debian's ``postgresql``
package, which ``scripts/test-deps.sh`` installs when it is missing. The cluster lives in a
temporary folder, listens on 127.0.0.1 only, trusts local connections (nothing else can reach
it) and is stopped when the test session ends. Durability is switched off: a test cluster is
thrown away, so fsync only costs time.

PostgreSQL refuses to run as root; when the tests run as root (CI, the dev machines) the server
runs as the ``postgres`` system user the Debian package creates.

Usage::

    server = PostgresServer.start()
    url = server.create_database("t1")   # postgresql+psycopg://...@127.0.0.1:PORT/t1
    ...
    server.stop()
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "reviewbot"


def find_pg_bin() -> Path | None:
    """The folder with initdb/pg_ctl: PATH first, then Debian's versioned folders (newest)."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user_prefix() -> tuple[list[str], int | None, int | None]:
    """How to run the server binaries: as ourselves, or as ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError as exc:  # pragma: no cover - the Debian package creates the user
        raise RuntimeError(
            "running as root and there is no 'postgres' user; run scripts/test-deps.sh"
        ) from exc
    return [], pw.pw_uid, pw.pw_gid


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    uid: int | None
    gid: int | None
    #: False (tests): fsync off. True (benchmarks): PostgreSQL's durable defaults, a fair figure.
    durable: bool = False

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @classmethod
    def start(cls, *, durable: bool = False) -> PostgresServer:
        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed; run scripts/test-deps.sh")
        _, uid, gid = _as_user_prefix()
        root = Path(tempfile.mkdtemp(prefix="review-bot-pg-"))
        if uid is not None:
            os.chown(root, uid, gid or -1)
            root.chmod(0o700)
        server = cls(bin_dir=bin_dir, root=root, port=_free_port(), uid=uid, gid=gid, durable=durable)
        server._initdb()
        server._pg_ctl_start()
        return server

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        def demote() -> None:  # pragma: no cover - runs in the child
            if self.gid is not None:
                os.setgid(self.gid)
            if self.uid is not None:
                os.setuid(self.uid)

        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"
        return subprocess.run(
            list(args), check=check, capture_output=True, text=True, env=env, cwd=self.root,
            preexec_fn=demote if self.uid is not None else None, timeout=120,
        )

    def _initdb(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
            "--auth=trust", "--encoding=UTF8", "--no-sync", "--locale=C.UTF-8",
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# review-bot test cluster: loopback only, thrown away after the run\n"
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\n"
                "max_connections = 200\nshared_buffers = 64MB\n"
            )
            if not self.durable:
                conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")

    def _pg_ctl_start(self) -> None:
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.root / "log"),
            "-w", "-t", "60", "start",
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start; see {self.root / 'log'}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database, autocommit=True
        ) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    @functools.cached_property
    def version_num(self) -> int:
        """``server_version_num``, e.g. 150018 for 15.18."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres") as conn:
            row = conn.execute("SHOW server_version_num").fetchone()
        return int(row[0]) if row else 0

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """A new empty database (or a copy of ``template``); returns its SQLAlchemy URL.

        A copy uses FILE_COPY where the server has it (PostgreSQL 15+): for a small template it
        is about twice as fast as 15's default WAL_LOG, measured (12 ms against 29 ms)."""
        suffix = ""
        if template:
            suffix = f' TEMPLATE "{template}"'
            if self.version_num >= 150000:
                suffix += " STRATEGY FILE_COPY"
        self.execute(f'CREATE DATABASE "{name}"{suffix}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate",
                      "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)
