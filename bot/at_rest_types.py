"""Column types that seal a value on its way into the database and open it on its way out, so the
code reading a model is unchanged (docs/encryption.md; decision 0029).

Each type names its place (``"table.column"``): it is the associated data of every value, so a
value copied into another column does not open. The column keeps its type in the database (text
stays VARCHAR, holding base64; bytes stay BLOB/bytea; JSON stays JSON, holding a JSON string):
no column changes type, so migrations only rewrite values.

A sealed value never equals another sealing of the same plaintext (a fresh nonce each time): an
encrypted column cannot be compared in SQL. A look-up uses a keyed hash in a column of its own
(:meth:`bot.at_rest.Keyring.lookup_hash`).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import ColumnClause
from sqlalchemy.types import TypeDecorator
from sqlmodel import AutoString, Field

from bot.at_rest import KeyProblem, keyring_of

#: What SQL may still ask of a sealed column: whether it holds a value at all.
_NULL_TESTS = (operators.is_, operators.is_not)


class NotComparable(TypeDecorator.Comparator[Any]):
    """Refuses every SQL operator on a sealed column but the NULL tests: a WHERE, a LIKE, an IN or
    an ORDER BY on one would compare sealings (a fresh nonce each), silently never matching."""

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        self._check(op, other)
        return super().operate(op, *other, **kwargs)

    def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
        self._check(op, (other,))
        return super().reverse_operate(op, other, **kwargs)

    def _check(self, op: Any, other: tuple[Any, ...]) -> None:
        if op in _NULL_TESTS:
            return
        # ``== None`` is a NULL test; the ORM itself compares column objects with ``==`` in Python
        # (bulk UPDATE bookkeeping), so a column on the other side is let through.
        if op in (operators.eq, operators.ne) and len(other) == 1 and (
                other[0] is None or isinstance(other[0], ColumnClause)):
            return
        place = getattr(self.type, "context", "a sealed column")
        raise TypeError(f"{place} is encrypted: SQL cannot compare, search or sort it "
                        "(decision 0029: a look-up needs a keyed-hash column beside it)")


class EncryptedText(TypeDecorator[str]):
    """Text, sealed and stored as base64 in a VARCHAR column."""

    impl = AutoString
    cache_ok = True
    comparator_factory = NotComparable

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        sealed = keyring_of(dialect).seal(value.encode("utf-8"), self.context)
        return base64.b64encode(sealed).decode("ascii")

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return keyring_of(dialect).open(_unbase64(value, self.context), self.context).decode("utf-8")


class EncryptedBytes(TypeDecorator[bytes]):
    """Bytes, sealed (after zlib when ``compress``: raw mail, attachments) in a BLOB/bytea column."""

    impl = LargeBinary
    cache_ok = True
    comparator_factory = NotComparable

    def __init__(self, context: str, compress: bool = False) -> None:
        super().__init__()
        self.context = context
        self.compress = compress

    def process_bind_param(self, value: bytes | None, dialect: Any) -> bytes | None:
        if value is None:
            return None
        return keyring_of(dialect).seal(bytes(value), self.context, compress=self.compress)

    def process_result_value(self, value: bytes | None, dialect: Any) -> bytes | None:
        if value is None:
            return None
        return keyring_of(dialect).open(bytes(value), self.context)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value, sealed and stored as one JSON string (base64) in the JSON column."""

    impl = JSON
    cache_ok = True
    comparator_factory = NotComparable

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return base64.b64encode(keyring_of(dialect).seal(plain, self.context)).decode("ascii")

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):  # a JSON object or list: stored in the clear, refused
            raise KeyProblem(f"a value in {self.context} is not encrypted: run `review-bot db upgrade`")
        return json.loads(keyring_of(dialect).open(_unbase64(value, self.context), self.context))


def _unbase64(value: str, context: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):  # plain text where a sealed value belongs: refused
        raise KeyProblem(f"a value in {context} is not encrypted: run `review-bot db upgrade`") from None


# --- one-line field declarations for the models ---------------------------------------------


def sealed_text(context: str, *, default: Any = None, nullable: bool = True) -> Any:
    """``field: str | None = sealed_text("table.column")``; ``nullable=False`` for a ``str``."""
    return Field(default=default, sa_column=Column(EncryptedText(context), nullable=nullable))


def sealed_json(context: str, *, default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(EncryptedJSON(context)))


def sealed_bytes(context: str, *, compress: bool = False) -> Any:
    return Field(sa_column=Column(EncryptedBytes(context, compress), nullable=False))


SEALED_TYPES = (EncryptedText, EncryptedBytes, EncryptedJSON)
