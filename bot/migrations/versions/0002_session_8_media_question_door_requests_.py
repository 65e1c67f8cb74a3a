"""Trust at the door and several instances (issues 9 and 10).

- mediaenquiry.question: the journalist's emailed question (issue 9 item 7; never shown in chat).
- doorrequest: replayed Slack views/events and keyed CLI commands act once (issue 9 item 5).
- outboxmessage.reason / claimed_by / lease_until: a queued message's reason is re-checked under
  its claim, and a claim has an owner and a lease (decision 0013). Rows left "sending" by an older
  version have no lease; the outbox takes them over once their claimed_at is older than the lease.
- lease: the mailbox is read by one instance at a time (decision 0013).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 20:10:26.443611
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('doorrequest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('surface', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('doorrequest_pkey')),
    sa.UniqueConstraint('key', name=op.f('doorrequest_key_key'))
    )
    op.create_table('lease',
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('holder', sa.String(), nullable=False),
    sa.Column('acquired_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('lease_pkey'))
    )
    with op.batch_alter_table('mediaenquiry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('question', sa.String(), nullable=True))

    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('reason')

    with op.batch_alter_table('mediaenquiry', schema=None) as batch_op:
        batch_op.drop_column('question')

    op.drop_table('lease')
    op.drop_table('doorrequest')
