"""Trust at the door and several instances (issues 9 and 10).

- inboundmessage.digest: a digest of what the sender wrote (not the transit headers), so a reused
  Message-ID with other content is kept for triage, not dropped (decision 0010). Older rows are
  hashed from their raw bytes when needed.
- attachment.role: NULL for a document; "signature" (S/MIME, PGP) or "message" (an attached email).
- mediaenquiry.question: the journalist's emailed question (issue 9 item 7; never shown in chat).
- doorrequest: replayed Slack views/events and keyed CLI commands act once (decision 0012).
- outboxmessage.reason / claimed_by / lease_until: a queued message's reason is re-checked under
  its claim, and a claim has an owner and a lease (decision 0013). Rows left "sending" by an older
  version have no lease; the outbox takes them over once their claimed_at is older than the lease.
  Messages the older version queued get their reason from their idempotency keys.
- lease: the mailbox is read by one instance at a time (decision 0013).
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
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(), nullable=True))

    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.String(), nullable=True))

    with op.batch_alter_table('mediaenquiry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('question', sa.String(), nullable=True))

    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(), nullable=True))

    _backfill_reasons()


def _backfill_reasons() -> None:
    """Messages queued by the older version (a chaser held overnight for working hours, say) get
    the reason the new code would have given them, so the upgrade does not send one whose reason
    has gone. Read from their idempotency keys: deadline:<id>:step:<n>[:business-manager],
    case:<id>:referral-alert, media:<id>:repeat:<n>."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, idempotency_key, request_id FROM outboxmessage "
        "WHERE reason IS NULL AND status IN ('pending', 'sending')"
    )).all()
    for row_id, key, request_id in rows:
        parts = str(key).split(":")
        reason = None
        if parts[0] == "deadline" and len(parts) >= 4 and parts[1].isdigit() and parts[2] == "step":
            reason = f"deadline:{parts[1]}" + (f" request:{request_id}" if request_id else "")
        elif parts[0] == "case" and len(parts) == 3 and parts[1].isdigit() and parts[2] == "referral-alert":
            reason = f"case:{parts[1]}"
        elif parts[0] == "media" and len(parts) == 4 and parts[1].isdigit() and parts[2] == "repeat":
            reason = f"media:{parts[1]}:unacknowledged"
        if reason is not None:
            bind.execute(sa.text("UPDATE outboxmessage SET reason = :reason WHERE id = :id"),
                         {"reason": reason, "id": row_id})



def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('reason')

    with op.batch_alter_table('mediaenquiry', schema=None) as batch_op:
        batch_op.drop_column('question')

    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.drop_column('digest')

    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_column('role')

    op.drop_table('lease')
    op.drop_table('doorrequest')
