"""The data keys (docs/encryption.md; decision 0029): random AES-256 keys, each stored wrapped
(AES-GCM) by the key-encryption key, which is never in the database. ``purpose`` is ``data``
(the newest seals new values; older ones open what is not yet re-sealed) or ``lookup`` (the
keyed hashes that stand in for plaintext in look-ups; the oldest is the one used)."""

from __future__ import annotations

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel


class DataKey(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    purpose: str  # data | lookup
    #: bot.at_rest.fingerprint of the KEK that wrapped it: a wrong key is named, not guessed at.
    kek_id: str
    #: nonce || AES-GCM(key) under the KEK, associated data "datakey:<purpose>".
    wrapped: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
