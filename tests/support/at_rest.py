"""Reading what the database stores as it is stored: which columns are sealed, and opening a
stored value with the test session's key (tests/conftest.py sets it as the fallback KEK)."""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import create_engine
from sqlmodel import SQLModel

import bot.models  # noqa: F401  (registers the tables)
from bot.at_rest import Keyring, fallback_kek, read_keys
from bot.at_rest_types import SEALED_TYPES, EncryptedBytes, EncryptedJSON


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
