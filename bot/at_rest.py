"""Encryption at rest of identifying data: envelope keys, sealed values, keyed lookup hashes.

Issue 13 item 1; docs/encryption.md; decision 0029. UK GDPR Art 32(1)(a) names encryption of
personal data as a measure; the data here is special category (Art 9) and criminal offence data
(Art 10), process.md 8.2.

* The **key-encryption key** (KEK, 32 random bytes) is read from ``DATA_KEY`` (base64) or the file
  ``DATA_KEY_FILE``; it is never written to the database, a log line or a chat post.
* **Data keys** (AES-256) are random, kept in the ``datakey`` table wrapped (AES-GCM) by the KEK.
  The newest ``data`` key seals new values; older ones only open values not yet re-sealed
  (``review-bot keys rotate``). One ``lookup`` key makes the keyed hashes (HMAC-SHA256) that
  stand in for plaintext in look-ups (a message's digest).
* A **sealed value** is ``header || nonce(12) || AES-GCM(ciphertext || tag)``, the header being
  version (1 byte), flags (1 byte: bit 0 = zlib before sealing) and the data key id (4 bytes,
  big-endian), so rotation and ``keys status`` can tell which key a value uses from its first
  bytes. The associated data is the value's place (``table.column``, or ``attachment:<name>``):
  a value copied into another column or file does not open.

Each engine carries its own :class:`Keyring` (``engine.dialect``), so the column types
(bot/at_rest_types.py) find the keys without any global, and two databases in one process
(tests) keep theirs apart.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from bot.errors import ServiceError

log = logging.getLogger(__name__)

VERSION = 1
_HEADER = struct.Struct(">BBI")
HEADER_SIZE = _HEADER.size  # 6 bytes: 8 characters of base64, whole, in a text column
NONCE_SIZE = 12
FLAG_ZLIB = 0x01
#: Below this a value is not worth compressing (a header of zlib's own, nothing gained).
COMPRESS_FROM = 512
#: The tail of a value :func:`worth_compressing` tries, and the ratio it must reach: text gives
#: 0.3 to 0.5, base64 0.75, compressed files about 1.
SAMPLE = 4096
WORTH_RATIO = 0.6
#: How long a running instance trusts its idea of the newest data key before asking the database
#: again: a rotation started elsewhere is followed within this time (docs/encryption.md).
REFRESH_SECONDS = 30.0
KEY_BYTES = 32
_DIALECT_ATTRIBUTE = "review_bot_keyring"


class KeyProblem(ServiceError):
    """A missing, malformed or wrong key, or a value that does not open: says which setting."""


def generate_kek() -> bytes:
    return os.urandom(KEY_BYTES)


def kek_text(kek: bytes) -> str:
    return base64.b64encode(kek).decode("ascii")


def parse_kek(value: str, *, setting: str) -> bytes:
    """A KEK written as base64 (the key file holds one line of it, as DATA_KEY does)."""
    try:
        kek = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyProblem(f"{setting} is not base64; it must hold the 32-byte key as base64 "
                         "(44 characters)") from None
    if len(kek) != KEY_BYTES:
        raise KeyProblem(f"{setting} holds {len(kek)} bytes; it must be {KEY_BYTES} (base64, 44 characters)")
    return kek


def fingerprint(kek: bytes) -> str:
    """A name for a KEK that gives nothing away about it (kept with each wrapped key)."""
    return hmac.new(kek, b"review-bot key-encryption key id", hashlib.sha256).hexdigest()[:16]


@dataclass
class StoredKey:
    id: int
    purpose: str  # data | lookup
    kek_id: str
    wrapped: bytes


def wrap(kek: bytes, key: bytes, purpose: str) -> bytes:
    nonce = os.urandom(NONCE_SIZE)
    return nonce + AESGCM(kek).encrypt(nonce, key, f"datakey:{purpose}".encode())


def unwrap(kek: bytes, stored: StoredKey, *, setting: str) -> bytes:
    if stored.kek_id != fingerprint(kek):
        raise KeyProblem(
            f"{setting} is not the key this database's data was encrypted with (its key id is "
            f"{fingerprint(kek)}, the database's data key {stored.id} needs {stored.kek_id}); "
            "set the right key (docs/encryption.md, Recovery)")
    try:
        return AESGCM(kek).decrypt(stored.wrapped[:NONCE_SIZE], stored.wrapped[NONCE_SIZE:],
                                   f"datakey:{stored.purpose}".encode())
    except InvalidTag:
        raise KeyProblem(f"data key {stored.id} does not open with {setting}: the datakey table was "
                         "altered or the key is wrong (docs/encryption.md, Recovery)") from None


def read_keys(conn: Connection) -> list[StoredKey]:
    rows = conn.execute(text("SELECT id, purpose, kek_id, wrapped FROM datakey ORDER BY id"))
    return [StoredKey(int(r[0]), str(r[1]), str(r[2]), bytes(r[3])) for r in rows]


def insert_key(conn: Connection, kek: bytes, purpose: str) -> None:
    conn.execute(text("INSERT INTO datakey (purpose, kek_id, wrapped) VALUES (:p, :k, :w)"),
                 {"p": purpose, "k": fingerprint(kek), "w": wrap(kek, os.urandom(KEY_BYTES), purpose)})


@dataclass
class Keyring:
    """The KEK and, once loaded from the database, its data keys and lookup key."""

    kek: bytes
    #: What the KEK was set by, for messages: "DATA_KEY", "DATA_KEY_FILE (/path)".
    setting: str = "DATA_KEY"
    engine: Engine | None = None
    _keys: dict[int, AESGCM] = field(default_factory=dict)
    _current: int | None = None
    _lookup: bytes | None = None
    _lookup_id: int | None = None
    _checked_at: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, engine: Engine) -> Keyring:
        """Give the engine this keyring: its encrypted columns use it from now on."""
        self.engine = engine
        setattr(engine.dialect, _DIALECT_ATTRIBUTE, self)
        return self

    # --- loading ------------------------------------------------------------------------------

    def ensure(self, conn: Connection) -> None:
        """Make the first data key and the lookup key if the database has none (a new database,
        or one just migrated), then load them. Called in a transaction of its own: two instances
        doing it at once may each add a data key (harmless: the newer is used) and a lookup key
        (the oldest is used by everyone, see :meth:`load_from`)."""
        stored = read_keys(conn)
        purposes = {k.purpose for k in stored}
        for purpose in ("data", "lookup"):
            if purpose not in purposes:
                insert_key(conn, self.kek, purpose)
        if purposes != {"data", "lookup"}:
            stored = read_keys(conn)
        self.load_from(stored)

    def load_from(self, stored: list[StoredKey]) -> None:
        with self._lock:
            for key in stored:
                if key.purpose == "data" and key.id not in self._keys:
                    self._keys[key.id] = AESGCM(unwrap(self.kek, key, setting=self.setting))
            data = [k.id for k in stored if k.purpose == "data"]
            lookup = [k for k in stored if k.purpose == "lookup"]
            if data:
                self._current = max(data)
            if lookup and self._lookup_id != lookup[0].id:  # the oldest: the same in every instance
                self._lookup = unwrap(self.kek, lookup[0], setting=self.setting)
                self._lookup_id = lookup[0].id
            self._checked_at = time.monotonic()

    def refresh(self) -> None:
        """Read the datakey table again (its own connection: reads never wait on a writer)."""
        if self.engine is None:
            raise KeyProblem("no database attached to the keyring")
        with self.engine.connect() as conn:
            stored = read_keys(conn)
        if not stored:
            raise KeyProblem("the database has no data key yet: start the bot once (`review-bot run` "
                             "or `review-bot db upgrade`) to create it")
        self.load_from(stored)

    def current_key_id(self) -> int:
        stale = time.monotonic() - self._checked_at > REFRESH_SECONDS
        if self._current is None or (stale and self.engine is not None):  # a migration's has none
            self.refresh()
        assert self._current is not None
        return self._current

    def _key(self, key_id: int) -> AESGCM:
        key = self._keys.get(key_id)
        if key is None:
            self.refresh()
            key = self._keys.get(key_id)
        if key is None:
            raise KeyProblem(f"a stored value uses data key {key_id}, which the datakey table does not hold")
        return key

    # --- sealing ------------------------------------------------------------------------------

    def seal(self, plaintext: bytes, context: str, *, compress: bool = False,
             key_id: int | None = None) -> bytes:
        key_id = self.current_key_id() if key_id is None else key_id
        flags = 0
        if compress and len(plaintext) >= COMPRESS_FROM:
            # Compressed before sealing: sealed bytes do not compress, so PostgreSQL's own lz4
            # (decision 0017) no longer can. Level 1: most of the gain at a fraction of the time.
            packed = compressed(plaintext)
            if packed is not None:
                plaintext, flags = packed, FLAG_ZLIB
        header = _HEADER.pack(VERSION, flags, key_id)
        nonce = os.urandom(NONCE_SIZE)
        return header + nonce + self._key(key_id).encrypt(nonce, plaintext, header + context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        _version, flags, key_id = header_of(sealed, context)
        header, nonce = sealed[:HEADER_SIZE], sealed[HEADER_SIZE:HEADER_SIZE + NONCE_SIZE]
        try:
            plaintext = self._key(key_id).decrypt(nonce, sealed[HEADER_SIZE + NONCE_SIZE:],
                                                  header + context.encode())
        except InvalidTag:
            raise KeyProblem(f"a value in {context} does not open: altered, or moved from "
                             "elsewhere") from None
        return zlib.decompress(plaintext) if flags & FLAG_ZLIB else plaintext

    def lookup_hash(self, value: str) -> str:
        """HMAC-SHA256 (hex) of ``value`` under the lookup key: equal values, equal hashes, and
        nothing to try guesses against without the key."""
        if self._lookup is None:
            self.refresh()
        assert self._lookup is not None
        return hmac.new(self._lookup, value.encode(), hashlib.sha256).hexdigest()


def compressed(data: bytes) -> bytes | None:
    """``data`` through zlib (level 1) if it is text that shrinks well; else None. A value longer
    than :data:`SAMPLE` is judged on its last bytes first: a mail's attachments come last, as
    base64 (zlib gains a quarter at 100 ms per 600 KB) or already compressed (PDF, docx: nothing
    to gain), and only text is worth the time (docs/benchmarks.md, "Encryption at rest")."""
    if len(data) > SAMPLE:
        sample = data[-SAMPLE:]
        if len(zlib.compress(sample, 1)) >= len(sample) * WORTH_RATIO:
            return None
    packed = zlib.compress(data, 1)
    return packed if len(packed) < len(data) else None


def header_of(sealed: bytes, context: str) -> tuple[int, int, int]:
    """(version, flags, key id) of a sealed value; a value that is not one is refused, never
    passed on as if it were plaintext."""
    if len(sealed) < HEADER_SIZE + NONCE_SIZE + 16 or sealed[0] != VERSION:
        raise KeyProblem(f"a value in {context} is not encrypted (or not in a format this version "
                         "knows): run `review-bot db upgrade`, which encrypts older rows")
    version, flags, key_id = _HEADER.unpack_from(sealed)
    return version, flags, key_id


def sealed_prefix(key_id: int) -> bytes:
    """The first bytes of every value sealed with ``key_id`` (flags aside: see rotation)."""
    return _HEADER.pack(VERSION, 0, key_id)


def keyring_of(bind: Any) -> Keyring:
    """The keyring of an engine, connection, session's bind or dialect."""
    dialect = getattr(bind, "dialect", bind)
    keyring = getattr(dialect, _DIALECT_ATTRIBUTE, None)
    if keyring is None:
        raise KeyProblem("no encryption key loaded for this database: set DATA_KEY or DATA_KEY_FILE "
                         "(docs/encryption.md)")
    return keyring


# --- the process's fallback (tests and benchmarks) ------------------------------------------

_fallback: list[bytes] = []


def use_fallback_kek(kek: bytes | None) -> None:
    """A KEK for every :class:`bot.db.Database` built without one: the test suite and the
    benchmarks set a generated key here. The bot itself always passes the key it loaded from its
    settings (bot/app.py); with neither, encrypted columns refuse to work (:func:`keyring_of`)."""
    _fallback.clear()
    if kek is not None:
        _fallback.append(kek)


def fallback_kek() -> bytes | None:
    return _fallback[0] if _fallback else None
