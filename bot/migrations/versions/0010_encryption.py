"""Encryption at rest (issue 13 item 1; decision 0029; docs/encryption.md).

Adds ``datakey`` (data keys wrapped by the key-encryption key, which is never stored here) and
seals, in batches of 500 rows, every value of the columns listed in :data:`SEALED` as it was when
this revision was written; ``inboundmessage.digest`` becomes a keyed hash. Column types do not
change. Rows are read and written through plain SQL (not the models, which change later).

The key comes from the caller (``review-bot db upgrade`` and start-up load it from DATA_KEY or
DATA_KEY_FILE); a database with rows to seal and no key is refused, naming the settings. The
downgrade opens every value again and drops the table. Attachment files are sealed at start-up
(bot.at_rest_files), not here: files cannot roll back with the transaction.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 03:20:00
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
#: table -> (column, kind, compressed): kind text | bytes | json. Frozen with this revision.
SEALED: dict[str, list[tuple[str, str, bool]]] = {
    "case": [("decision_rationale", "text", False), ("closed_reason", "text", False)],
    "agencyrequest": [("closed_reason", "text", False)],
    "outboxmessage": [("subject", "text", False), ("body_text", "text", False), ("body_html", "text", False)],
    "inboundmessage": [("from_addr", "text", False), ("triage_reason", "text", False), ("raw", "bytes", True)],
    "attachment": [("display_name", "text", False)],
    "mediaenquiry": [("journalist", "text", False), ("contact", "text", False), ("summary", "text", False),
                     ("question", "text", False), ("closed_reason", "text", False)],
    "mediastatement": [("text", "text", False), ("released_to", "text", False)],
    "doorrequest": [("result", "json", False)],
    "outboxattachment": [("filename", "text", False), ("content", "bytes", True)],
    "chronologyevent": [("source", "text", False), ("event", "text", False), ("outcome", "text", False),
                        ("extra", "json", False)],
    "localreview": [("reviewer_name", "text", False), ("reviewer_email", "text", False)],
    # The action plan (0007) and complaints (0008) come before this revision; tables made after it (0011's legal
    # holds) are sealed from their first row by the models.
    "reviewaction": [("text", "text", False), ("notes", "json", False), ("close_reason", "text", False)],
    "nonpublication": [("reasons", "text", False), ("instead", "text", False)],
    "complaint": [("complainant_name", "text", False), ("complainant_contact", "text", False)],
}
#: Tables whose primary key is not ``id``.
_KEYS = {"localreview": "case_id", "nonpublication": "case_id", "complaint": "case_id"}
_TYPES: dict[str, sa.types.TypeEngine[Any]] = {"text": sa.String(), "bytes": sa.LargeBinary(), "json": sa.JSON()}


def upgrade() -> None:
    op.create_table('datakey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(), nullable=False),
    sa.Column('kek_id', sa.String(), nullable=False),
    sa.Column('wrapped', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('datakey_pkey'))
    )
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        # The plaintext a rewritten value leaves in freed space is zeroed, not left in the file
        # (bot.schema.upgrade then empties the WAL). PostgreSQL: docs/encryption.md, VACUUM FULL.
        conn.exec_driver_sql("PRAGMA secure_delete = ON")
    keyring = _keyring(required=_holds_values(conn))
    if keyring is None:
        return  # nothing to seal, no key given (a scratch database): start-up makes the keys
    keyring.ensure(conn)
    for table, columns in SEALED.items():
        for column, kind, compress in columns:
            _rewrite(conn, table, column, kind, partial(_seal, keyring, f"{table}.{column}", compress))
    _rewrite(conn, "inboundmessage", "digest", "hash", keyring.lookup_hash)


def downgrade() -> None:
    conn = op.get_bind()
    keyring = _keyring(required=_holds_values(conn))
    if keyring is not None:
        keyring.ensure(conn)
        for table, columns in SEALED.items():
            for column, kind, _compress in columns:
                _rewrite(conn, table, column, kind, partial(_open, keyring, f"{table}.{column}"), opening=True)
        # A keyed hash cannot be undone: the digest is worked out from the bytes again when needed.
        conn.execute(sa.text("UPDATE inboundmessage SET digest = NULL"))
    op.drop_table('datakey')


def _seal(keyring: Any, place: str, compress: bool, plain: bytes) -> bytes:
    return bytes(keyring.seal(plain, place, compress=compress))


def _open(keyring: Any, place: str, sealed: bytes) -> bytes:
    return bytes(keyring.open(sealed, place))


def _keyring(*, required: bool) -> Any:
    """A keyring of the key the caller gave (or the tests' fallback); None when there is none and
    nothing needs one."""
    from bot.at_rest import KeyProblem, Keyring, fallback_kek

    keyring = context.config.attributes.get("keyring")
    if keyring is not None:
        return Keyring(keyring.kek, keyring.setting)
    kek = fallback_kek()
    if kek is None and not required:
        return None
    if kek is None:
        raise KeyProblem("the database holds data to encrypt (migration 0010) and no key was given: "
                         "set DATA_KEY or DATA_KEY_FILE and run `review-bot db upgrade` (docs/encryption.md)")
    return Keyring(kek)


def _holds_values(conn: sa.Connection) -> bool:
    return any(conn.execute(sa.text(f'SELECT 1 FROM "{table}" LIMIT 1')).first() is not None for table in SEALED)


def _rewrite(conn: sa.Connection, table: str, column: str, kind: str, change: Callable[[Any], Any],
             *, opening: bool = False) -> None:
    """Every non-null value of ``table.column`` through ``change``, BATCH rows at a time by id."""
    stored_type: sa.types.TypeEngine[Any] = sa.String() if kind == "hash" else _TYPES[kind]
    key = _KEYS.get(table, "id")
    t = sa.table(table, sa.column(key, sa.Integer()), sa.column(column, stored_type))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(t.c[key], t.c[column]).where(t.c[key] > last, t.c[column].is_not(None))
            .order_by(t.c[key]).limit(BATCH)
        ).all()
        if not rows:
            return
        updates = [{"row_id": row_id, "value": _changed(kind, value, change, opening)} for row_id, value in rows]
        conn.execute(sa.update(t).where(t.c[key] == sa.bindparam("row_id")).values({column: sa.bindparam("value")}),
                     updates)
        last = rows[-1][0]


def _changed(kind: str, value: Any, change: Callable[[Any], Any], opening: bool) -> Any:
    if kind == "hash":
        return change(value)
    if kind == "bytes":
        return change(bytes(value))
    if opening:
        plain = change(base64.b64decode(value))
        return json.loads(plain) if kind == "json" else plain.decode("utf-8")
    plain = (json.dumps(value, ensure_ascii=False, separators=(",", ":")) if kind == "json" else value).encode("utf-8")
    return base64.b64encode(change(plain)).decode("ascii")
