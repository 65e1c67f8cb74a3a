"""Reading what the database stores as it is stored: which columns are sealed, and opening a
stored value with the test session's key (tests/conftest.py sets it as the fallback KEK)."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import bot.models  # noqa: F401  (registers the tables)
from bot.at_rest import Keyring, fallback_kek, read_keys
from bot.at_rest_types import SEALED_TYPES, EncryptedBytes, EncryptedJSON
from tests.support.postgres import PostgresServer


def database_files(url: str, pg_server: PostgresServer | None) -> dict[str, bytes]:
    """The bytes the database rests in: SQLite's file and its WAL, or a pg_dump (plain SQL)."""
    parsed = make_url(url)
    if pg_server is None:
        database = Path(parsed.database or "")
        return {p.name: p.read_bytes() for p in (database, database.with_name(database.name + "-wal"))
                if p.exists()}
    dump = subprocess.run(
        [str(pg_server.bin_dir / "pg_dump"), "--no-owner", "-h", str(parsed.host), "-p", str(parsed.port),
         "-U", str(parsed.username), str(parsed.database)],
        capture_output=True, check=True, env={"PGPASSWORD": str(parsed.password or "")},
    )
    return {"pg_dump": dump.stdout}


def sealed_columns() -> dict[tuple[str, str], Any]:
    """(table, column) -> its sealed type, for every encrypted column of the models."""
    return {(t.name, c.name): c.type for t in SQLModel.metadata.tables.values() for c in t.columns
            if isinstance(c.type, SEALED_TYPES)}


def keyring_for(url: str) -> Keyring:
    kek = fallback_kek()
    assert kek is not None
    keyring = Keyring(kek)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            keyring.load_from(read_keys(conn))
    finally:
        engine.dispose()
    return keyring


def open_stored(keyring: Keyring, table: str, column: str, stored: Any) -> Any:
    """The plain value of a stored one (a sealed column's), or the stored value as it is."""
    kind = sealed_columns().get((table, column))
    if kind is None or stored is None:
        return stored
    place = f"{table}.{column}"
    if isinstance(kind, EncryptedBytes):
        return keyring.open(bytes(stored), place)
    plain = keyring.open(base64.b64decode(stored), place)
    return json.loads(plain) if isinstance(kind, EncryptedJSON) else plain.decode("utf-8")
