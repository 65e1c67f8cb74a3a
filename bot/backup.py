"""Back up and restore the database and the attachment store together; a restore checks itself.

    python -m bot.backup create [--to FOLDER]      # default: $DATA_DIR/backups
    python -m bot.backup restore FILE [--force]    # into DATABASE_URL and ATTACHMENTS_DIR
    python -m bot.backup verify FILE               # compare what is there with the backup

One ``.tar`` file holds ``manifest.json`` (row count of every table, SHA-256 of every attachment),
the database (``database.sqlite3``, an online copy by SQLite's backup API; or ``database.pgdump``,
``pg_dump -Fc``) and ``attachments/``. The attachments hold referral narratives: the file is
written with mode 0600 and must be stored like the database itself (docs/deploying.md).

Consistency: the row counts come from the same snapshot the dump reads (the SQLite copy itself;
for PostgreSQL an exported snapshot that pg_dump shares), and attachments are copied after the
database: a file is written before its row commits (bot/inbound.py), so every row in the dump
has its file in the archive.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, Connection, make_url

from bot.clock import SystemClock
from bot.logs import mask_url
from bot.settings import Settings

FORMAT = 1
#: Stored attachment names are generated (uuid4 hex, bot/inbound.py); nothing else is restored.
_STORED_NAME = re.compile(r"[0-9a-f]{32}")


class BackupError(Exception):
    """Something an operator must act on; the message says what."""


# --- counting ----------------------------------------------------------------------------------


def row_counts(conn: Connection) -> dict[str, int]:
    names = sorted(inspect(conn).get_table_names())
    quote = conn.dialect.identifier_preparer.quote
    return {n: int(conn.execute(text(f"SELECT count(*) FROM {quote(n)}")).scalar_one()) for n in names}


def file_digests(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {p.name: _sha256(p) for p in sorted(folder.iterdir())
            if p.is_file() and _STORED_NAME.fullmatch(p.name)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- PostgreSQL through its own tools -------------------------------------------------------------


def _pg_tool(name: str) -> str:
    """pg_dump/pg_restore from PG_BIN, else PATH (their major version must be >= the server's)."""
    folder = os.environ.get("PG_BIN")
    found = str(Path(folder) / name) if folder else shutil.which(name)
    if not found or not Path(found).exists():
        raise BackupError(f"{name} not found: install postgresql-client or set PG_BIN")
    return found


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment that carries it
    (a password on the command line would show in ``ps``)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return conninfo, env


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {mask_url(done.stderr.strip())[:2000]}")


# --- create ---------------------------------------------------------------------------------------


def create(settings: Settings, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = SystemClock().now().strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"review-bot-{stamp}.tar"
    url = make_url(settings.database_url)
    with tempfile.TemporaryDirectory(prefix="review-bot-backup-") as tmp:
        if url.get_backend_name() == "sqlite":
            dump, counts = _dump_sqlite(url, Path(tmp) / "database.sqlite3")
        elif url.get_backend_name() == "postgresql":
            dump, counts = _dump_postgres(url, Path(tmp) / "database.pgdump")
        else:
            raise BackupError(f"cannot back up a {url.get_backend_name()} database")
        # After the database: see the module docstring.
        digests = file_digests(settings.attachments_dir)
        manifest = {
            "format": FORMAT, "created": SystemClock().now().isoformat(),
            "database": url.get_backend_name(), "tables": counts, "attachments": digests,
        }
        partial = target.with_suffix(".tar.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
            tar.add(dump, arcname=dump.name)
            for name in digests:
                tar.add(settings.attachments_dir / name, arcname=f"attachments/{name}")
        os.replace(partial, target)  # a half-written backup never looks like a whole one
    return target


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


def _dump_sqlite(url: URL, dest: Path) -> tuple[Path, dict[str, int]]:
    source = Path(url.database or "")
    if not source.exists():
        raise BackupError(f"no database at {source}")
    # The backup API copies a consistent snapshot while the bot keeps running (WAL included).
    with sqlite3.connect(source) as src, sqlite3.connect(dest) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    engine = create_engine(f"sqlite:///{dest}")
    with engine.connect() as conn:
        counts = row_counts(conn)
    engine.dispose()
    return dest, counts


def _dump_postgres(url: URL, dest: Path) -> tuple[Path, dict[str, int]]:
    engine = create_engine(url.render_as_string(hide_password=False), isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn:
            # Count inside an exported snapshot and let pg_dump read the very same one.
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            counts = row_counts(conn)
            conninfo, env = _libpq(url)
            _run([_pg_tool("pg_dump"), "-Fc", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  "-f", str(dest), "-d", conninfo], env)
            conn.rollback()
    finally:
        engine.dispose()
    return dest, counts


# --- restore and verify ---------------------------------------------------------------------------


@contextmanager
def _opened(archive: Path) -> Iterator[tuple[tarfile.TarFile, dict[str, Any]]]:
    with tarfile.open(archive, mode="r") as tar:
        member = tar.extractfile("manifest.json")
        if member is None:
            raise BackupError(f"{archive} has no manifest.json: not a review-bot backup")
        manifest = json.loads(member.read())
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{archive}: unknown backup format {manifest.get('format')!r}")
        yield tar, manifest


def restore(settings: Settings, archive: Path, *, force: bool = False) -> list[str]:
    """Put the database and the attachments back, then verify; returns the verification's lines."""
    url = make_url(settings.database_url)
    with _opened(archive) as (tar, manifest):
        if manifest["database"] != url.get_backend_name():
            raise BackupError(f"the backup holds a {manifest['database']} database but DATABASE_URL is "
                              f"{url.get_backend_name()}")
        folder = settings.attachments_dir
        if not force and folder.is_dir() and any(folder.iterdir()):
            raise BackupError(f"{folder} is not empty; restore into an empty store or pass --force")
        with tempfile.TemporaryDirectory(prefix="review-bot-restore-") as tmp:
            name = "database.sqlite3" if manifest["database"] == "sqlite" else "database.pgdump"
            dump = Path(tmp) / name
            source = tar.extractfile(name)
            if source is None:
                raise BackupError(f"{archive} has no {name}")
            with dump.open("wb") as out:
                shutil.copyfileobj(source, out)
            if manifest["database"] == "sqlite":
                _restore_sqlite(url, dump, force=force)
            else:
                _restore_postgres(url, dump, force=force)
        _restore_attachments(tar, manifest, folder)
    return verify(settings, archive)


def _restore_sqlite(url: URL, dump: Path, *, force: bool) -> None:
    target = Path(url.database or "")
    if target.exists() and not force:
        raise BackupError(f"{target} exists; stop the bot, move it away or pass --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        stale.unlink(missing_ok=True)  # a left-over WAL would be replayed onto the restored file
    staged = target.with_name(target.name + ".restoring")
    shutil.copyfile(dump, staged)
    os.chmod(staged, 0o600)
    os.replace(staged, target)


def _restore_postgres(url: URL, dump: Path, *, force: bool) -> None:
    engine = create_engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            existing = inspect(conn).get_table_names()
    finally:
        engine.dispose()
    if existing and not force:
        raise BackupError(f"the database already has {len(existing)} tables; restore into an empty "
                          "database (createdb) or pass --force to replace them")
    conninfo, env = _libpq(url)
    args = [_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "-d", conninfo]
    if force:
        args[1:1] = ["--clean", "--if-exists"]
    _run([*args, str(dump)], env)


def _restore_attachments(tar: tarfile.TarFile, manifest: dict[str, Any], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in manifest["attachments"]:
        # Only generated names, read as bytes: a crafted archive cannot write outside the store.
        if not _STORED_NAME.fullmatch(name):
            raise BackupError(f"unexpected attachment name in the backup: {name!r}")
        source = tar.extractfile(f"attachments/{name}")
        if source is None:
            raise BackupError(f"attachment {name} is listed but missing from the backup")
        staged = folder / f".{name}.restoring"
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out)
        os.replace(staged, folder / name)


def verify(settings: Settings, archive: Path) -> list[str]:
    """Compare the live database and attachment store with the backup's manifest (right after a
    restore, or on a scratch restore to prove a backup is good); raise on any difference."""
    with _opened(archive) as (_tar, manifest):
        pass
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            counts = row_counts(conn)
            stored = set(conn.execute(text(
                "SELECT stored_name FROM attachment WHERE stored_name IS NOT NULL")).scalars())
    finally:
        engine.dispose()
    problems = [f"table {t}: {counts.get(t)} rows, the backup has {n}"
                for t, n in manifest["tables"].items() if counts.get(t) != n]
    digests = file_digests(settings.attachments_dir)
    problems += [f"attachment {n}: missing or changed" for n, d in manifest["attachments"].items()
                 if digests.get(n) != d]
    problems += [f"attachment {n}: in the database, not in the store" for n in sorted(stored - set(digests))]
    if problems:
        raise BackupError("verification failed:\n  " + "\n  ".join(problems))
    rows = sum(manifest["tables"].values())
    return [f"verified: {len(manifest['tables'])} tables, {rows} rows, "
            f"{len(manifest['attachments'])} attachments (backup of {manifest['created']})"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.backup", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    made = sub.add_parser("create", help="write a backup file")
    made.add_argument("--to", type=Path, help="folder for the backup (default: $DATA_DIR/backups)")
    back = sub.add_parser("restore", help="restore a backup into an empty database and store")
    back.add_argument("file", type=Path)
    back.add_argument("--force", action="store_true", help="replace what is there")
    check = sub.add_parser("verify", help="compare the database and store with a backup")
    check.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    settings = Settings()
    try:
        if args.command == "create":
            print(create(settings, (args.to or settings.data_dir / "backups").resolve()))
        elif args.command == "restore":
            print("\n".join(restore(settings, args.file, force=args.force)))
        else:
            print("\n".join(verify(settings, args.file)))
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
