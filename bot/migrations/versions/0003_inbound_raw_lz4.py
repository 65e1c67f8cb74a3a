"""Inbound raw bytes compressed with lz4 on PostgreSQL (issue 10: intake rate).

PostgreSQL's default TOAST compression (pglz) reads the whole of a large value before giving up on
one that does not shrink by 25 %: a message with compressible text and an incompressible base64
attachment cost about 16 us a KB to write. lz4 (PostgreSQL 14+, when the server is built with it)
costs about a tenth of that; without it the bytes are stored uncompressed (STORAGE EXTERNAL).
Rows already stored keep their compression; only new values use the new one. SQLite: nothing.
The same statement runs after create_all (bot/models.py RAW_STORAGE_DDL; docs/decisions/0017).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 20:41:07.355455
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A copy, not an import: a revision never imports bot code (decision 0014).
UPGRADE = """\
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_settings
             WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    ALTER TABLE inboundmessage ALTER COLUMN raw SET COMPRESSION lz4;
  ELSE
    ALTER TABLE inboundmessage ALTER COLUMN raw SET STORAGE EXTERNAL;
  END IF;
END
$$"""

DOWNGRADE = """\
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression') THEN
    ALTER TABLE inboundmessage ALTER COLUMN raw SET COMPRESSION DEFAULT;
  END IF;
  ALTER TABLE inboundmessage ALTER COLUMN raw SET STORAGE EXTENDED;
END
$$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(UPGRADE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DOWNGRADE)
