"""Key rotation and the count of values per key (``review-bot keys``; docs/encryption.md).

Rotating makes a new data key (the newest seals every new value from then on: each running
instance reads the datakey table again within :data:`bot.at_rest.REFRESH_SECONDS`) and re-seals
the stored values under it, ``batch`` rows per transaction, while the bot runs. Each batch holds
the ``keys:reseal`` lease (decision 0013), so a second instance waits instead of doubling the work,
and each UPDATE names the value it replaces, so a row changed meanwhile is left for the next
pass. The work is found by the values' own headers: after a kill -9 the next run simply finds
what is left. A new key-encryption key re-wraps the data keys in one transaction: the values
themselves do not change.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from bot.at_rest import (
    HEADER_SIZE,
    KeyProblem,
    Keyring,
    fingerprint,
    header_of,
    keyring_of,
    read_keys,
    sealed_prefix,
    unwrap,
    wrap,
)
from bot.at_rest_files import attachment_context
from bot.at_rest_types import SEALED_TYPES, EncryptedBytes, EncryptedJSON
from bot.core import Core
from bot.db import rowcount
from bot.leases import acquire, instance_id, release

LEASE = "keys:reseal"
LEASE_FOR = timedelta(minutes=5)
BATCH = 200
_PREFIX_CHARS = HEADER_SIZE * 4 // 3  # base64 of the header: 8 characters


@dataclass(frozen=True)
class Place:
    """One sealed column, read and written as it is stored (no sealing type in between)."""

    table: str
    column: str
    key: str  # the primary key column
    kind: str  # text | bytes | json

    @property
    def context(self) -> str:
        return f"{self.table}.{self.column}"

    def stored(self) -> Any:
        types: dict[str, sa.types.TypeEngine[Any]] = {"text": sa.String(), "bytes": sa.LargeBinary(),
                                                      "json": sa.JSON()}
        plain = types[self.kind]
        return sa.table(self.table, sa.column(self.key, sa.Integer()), sa.column(self.column, plain))

    def prefix(self, t: Any) -> Any:
        """SQL for what names a stored value's key: the key id's 4 bytes of a sealed blob (after
        version and flags: a blob may be compressed); the base64 of a text's whole header (text is
        never compressed, so its flags are 0)."""
        value = t.c[self.column]
        if self.kind == "bytes":
            return sa.func.substr(value, 3, 4)
        if self.kind == "json":  # a JSON string: its quote first
            return sa.func.substr(sa.cast(value, sa.Text), 2, _PREFIX_CHARS)
        return sa.func.substr(value, 1, _PREFIX_CHARS)

    def prefix_of(self, key_id: int) -> Any:
        if self.kind == "bytes":
            return key_id.to_bytes(4, "big")
        return base64.b64encode(sealed_prefix(key_id)).decode("ascii")


def sealed_places() -> list[Place]:
    import bot.models  # noqa: F401  (registers the tables)

    places = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, SEALED_TYPES):
                kind = ("bytes" if isinstance(column.type, EncryptedBytes)
                        else "json" if isinstance(column.type, EncryptedJSON) else "text")
                key = next(iter(table.primary_key.columns)).name
                places.append(Place(table.name, column.name, key, kind))
    return places


def _key_id(place: Place, prefix: Any) -> int:
    if place.kind == "bytes":
        return int.from_bytes(bytes(prefix), "big")
    return header_of(base64.b64decode(prefix) + bytes(28), place.context)[2]


# --- status ---------------------------------------------------------------------------------


@dataclass
class KeyStatus:
    keys: list[dict[str, Any]]
    #: table.column -> {key id: values}
    values: dict[str, dict[int, int]]
    #: key id -> attachment files
    files: dict[int, int]
    #: attachment files not sealed (a store from before encryption not yet passed over)
    plain_files: int

    def per_key(self) -> Counter[int]:
        total: Counter[int] = Counter(self.files)
        for counts in self.values.values():
            total.update(counts)
        return total


def status(core: Core) -> KeyStatus:
    """Which key seals how many values: one grouped query per sealed column, file headers."""
    values: dict[str, dict[int, int]] = {}
    with core.db.engine.connect() as conn:
        keys = [{"id": k.id, "purpose": k.purpose, "kek_id": k.kek_id} for k in read_keys(conn)]
        for place in sealed_places():
            t = place.stored()
            prefix = place.prefix(t).label("prefix")
            rows = conn.execute(sa.select(prefix, sa.func.count()).where(t.c[place.column].is_not(None))
                                .group_by(prefix))
            counts: Counter[int] = Counter()
            for value, n in rows:
                counts[_key_id(place, value)] += int(n)
            values[place.context] = dict(counts)
    files, plain = _file_headers(Path(core.attachments_dir))
    return KeyStatus(keys, values, files, plain)


def _file_headers(folder: Path) -> tuple[dict[int, int], int]:
    counts: Counter[int] = Counter()
    plain = 0
    if not folder.is_dir():
        return {}, 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                continue
            with open(entry.path, "rb") as f:
                head = f.read(HEADER_SIZE + 28)
            try:
                counts[header_of(head, "the attachment store")[2]] += 1
            except KeyProblem:
                plain += 1
    return dict(counts), plain


# --- rotation -------------------------------------------------------------------------------


def new_data_key(core: Core) -> int:
    """A new data key, the one every new value is sealed with from now on. Returns its id."""
    keyring = keyring_of(core.db.engine)
    with core.db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO datakey (purpose, kek_id, wrapped) VALUES ('data', :k, :w)"),
                     {"k": fingerprint(keyring.kek), "w": wrap(keyring.kek, os.urandom(32), "data")})
    keyring.refresh()
    return keyring.current_key_id()


def rewrap(core: Core, new_kek: bytes) -> int:
    """Every data key wrapped again by ``new_kek``, in one transaction (the values do not change:
    they are sealed by the data keys). Then DATA_KEY / DATA_KEY_FILE must hold the new key."""
    keyring = keyring_of(core.db.engine)
    with core.db.engine.begin() as conn:
        stored = read_keys(conn)
        for key in stored:
            plain = unwrap(keyring.kek, key, setting=keyring.setting)
            conn.execute(sa.text("UPDATE datakey SET kek_id = :k, wrapped = :w WHERE id = :id"),
                         {"k": fingerprint(new_kek), "w": wrap(new_kek, plain, key.purpose), "id": key.id})
    keyring.kek = new_kek
    return len(stored)


def reseal(core: Core, *, batch: int = BATCH, settle: float = 30.0) -> int | None:
    """Re-seal every value not under the newest data key, ``batch`` rows per transaction; then,
    ``settle`` seconds after the pass began (what an instance needs to see the new key), once
    more for values written meanwhile with the old one. Returns how many values were re-sealed;
    None when another instance holds the lease (its pass does the work)."""
    started = time.monotonic()
    done = _pass(core, batch)
    if done is None:
        return None
    remaining = settle - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)
    return done + (_pass(core, batch) or 0)


def _pass(core: Core, batch: int) -> int | None:
    keyring = keyring_of(core.db.engine)
    keyring.refresh()
    current = keyring.current_key_id()
    holder = instance_id()
    done = 0
    try:
        for place in sealed_places():
            while True:
                with core.db.transaction() as session:
                    if not acquire(session, LEASE, holder, core.clock.now(), LEASE_FOR):
                        return None
                    changed = _batch(session.connection(), keyring, place, current, batch)
                done += changed.resealed
                if changed.seen < batch:
                    break
        done += _reseal_files(Path(core.attachments_dir), keyring, current)
    finally:
        with core.db.transaction() as session:
            release(session, LEASE, holder)
    return done


@dataclass
class _Changed:
    seen: int
    resealed: int


def _batch(conn: sa.Connection, keyring: Keyring, place: Place, current: int, batch: int) -> _Changed:
    t = place.stored()
    value = t.c[place.column]
    rows = conn.execute(
        sa.select(t.c[place.key], value)
        .where(value.is_not(None), place.prefix(t) != place.prefix_of(current))
        .order_by(t.c[place.key]).limit(batch)
    ).all()
    resealed = 0
    for row_id, old in rows:
        new = _resealed(keyring, place, old, current)
        same = (sa.cast(value, sa.Text) == json.dumps(old)) if place.kind == "json" else (value == old)
        updated = conn.execute(sa.update(t).where(t.c[place.key] == row_id, same).values({place.column: new}))
        resealed += rowcount(updated)
    return _Changed(len(rows), resealed)


def _resealed(keyring: Keyring, place: Place, old: Any, key_id: int) -> Any:
    if place.kind == "bytes":
        sealed = bytes(old)
        plain = keyring.open(sealed, place.context)
        return keyring.seal(plain, place.context, compress=bool(sealed[1] & 1), key_id=key_id)
    plain = keyring.open(base64.b64decode(old), place.context)
    return base64.b64encode(keyring.seal(plain, place.context, key_id=key_id)).decode("ascii")


def _reseal_files(folder: Path, keyring: Keyring, current: int) -> int:
    """Attachment files under the newest key: each rewritten through a temporary file and an
    atomic rename (a crash leaves the old sealing, which still opens)."""
    done = 0
    for name in _sealed_file_names(folder, current):
        path = folder / name
        context = attachment_context(name)
        try:
            plain = keyring.open(path.read_bytes(), context)
        except FileNotFoundError:
            continue  # deleted meanwhile (the retention purge, the orphan sweep): nothing to re-seal
        temporary = folder / f".{name}.sealing"
        temporary.write_bytes(keyring.seal(plain, context, compress=True, key_id=current))
        if not path.exists():  # deleted while it was re-sealed: do not bring a purged file back
            temporary.unlink(missing_ok=True)
            continue
        os.replace(temporary, path)
        done += 1
    return done


def _sealed_file_names(folder: Path, current: int) -> Iterator[str]:
    if not folder.is_dir():
        return
    with os.scandir(folder) as entries:
        names = [e.name for e in entries if not e.name.startswith(".") and e.is_file(follow_symlinks=False)]
    for name in names:
        try:
            with open(folder / name, "rb") as f:
                head = f.read(HEADER_SIZE + 28)
        except FileNotFoundError:
            continue  # deleted since the folder was listed
        try:
            if header_of(head, "the attachment store")[2] != current:
                yield name
        except KeyProblem:
            continue  # not sealed: the start-up pass seals it (bot.at_rest_files)
