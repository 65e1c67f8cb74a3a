"""Where the key-encryption key comes from: ``DATA_KEY`` or ``DATA_KEY_FILE`` (docs/encryption.md).

A fresh installation just works (``make run``): on a database holding no data key yet, a missing
key file is created (0600) with a new random key and its path logged, never the key. Once the
database holds data keys, a missing or wrong key stops start-up with a message naming the
setting: never a stack trace, never a silent fall back to plaintext.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from bot.at_rest import KeyProblem, fingerprint, generate_kek, kek_text, parse_kek

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedKek:
    kek: bytes
    #: How it was set, for messages: "DATA_KEY" or "DATA_KEY_FILE (/var/lib/review-bot/data.key)".
    setting: str
    created: bool = False

    def describe(self) -> str:
        made = ", created now" if self.created else ""
        return f"{self.setting}, key id {fingerprint(self.kek)}{made}"


def database_key_ids(url: str) -> set[str]:
    """The KEK ids the database's data keys were wrapped with; empty for a new database or one
    from before encryption (migration 0010 makes the first keys). Read on a short-lived engine."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or not Path(database).exists():
            return set()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if "datakey" not in inspect(conn).get_table_names():
                return set()
            return {str(r[0]) for r in conn.execute(text("SELECT DISTINCT kek_id FROM datakey"))}
    finally:
        engine.dispose()


def load_kek(settings: Any) -> LoadedKek:
    """The KEK the settings give, checked against the database's data keys."""
    secret = settings.data_key.get_secret_value().strip() if settings.data_key is not None else ""
    known = database_key_ids(settings.database_url)
    if secret:
        loaded = LoadedKek(parse_kek(secret, setting="DATA_KEY"), "DATA_KEY")
    else:
        path = Path(settings.data_key_file)
        setting = f"DATA_KEY_FILE ({path})"
        if path.exists():
            loaded = LoadedKek(parse_kek(_read(path, setting), setting=setting), setting)
        elif known:
            raise KeyProblem(
                f"{setting} does not exist and DATA_KEY is not set, but the database holds data "
                f"encrypted under key id {', '.join(sorted(known))}: restore the key file from its "
                "backup or set DATA_KEY (docs/encryption.md, Recovery)")
        else:
            loaded = LoadedKek(create_key_file(path), setting, created=True)
    if known and fingerprint(loaded.kek) not in known:
        raise KeyProblem(
            f"{loaded.setting} is not the key this database was encrypted with (it is key id "
            f"{fingerprint(loaded.kek)}; the database needs {', '.join(sorted(known))}): set the right "
            "key (docs/encryption.md, Recovery)")
    return loaded


def _read(path: Path, setting: str) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyProblem(f"{setting} cannot be read: {exc.__class__.__name__}") from None


def create_key_file(path: Path) -> bytes:
    """A new random KEK written to ``path``, readable by this user only (0600 from the start: the
    file is never there with wider permissions, even for a moment)."""
    kek = generate_kek()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # a second instance starting at the same moment made it first
        return parse_kek(_read(path, str(path)), setting=f"DATA_KEY_FILE ({path})")
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(kek_text(kek) + "\n")
    log.warning("created the data encryption key file %s (key id %s): back it up apart from the "
                "database; without it the data cannot be read (docs/encryption.md)", path, fingerprint(kek))
    return kek
