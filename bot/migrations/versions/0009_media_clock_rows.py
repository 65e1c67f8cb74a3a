"""A media enquiry's clocks become deadline rows (issue 12 item 2; decision 0026).

``deadline.case_id`` becomes nullable (an enquiry need not concern a case) and ``deadline`` gains
``media_enquiry_id`` and ``working_hours`` (True for every existing row: their plans are
unchanged). ``mediaenquiry.next_action_at`` and ``reminders_sent``, the second engine's schedule,
are dropped once copied: every open enquiry gets its rows here, the acknowledgement clock at the
repeat count it had reached and the journalist's deadline at the reminder it had reached, both
looked at no later than the enquiry's old ``next_action_at`` (a row looked at early is only
planned again, bot.media_chasers), so no repeat or reminder is lost or sent twice. The migration
does not know the protocol: the acknowledgement row's due time is the preset's 15 minutes until
its first look sets it from ``[media] acknowledge_within``.

The downgrade copies the steps back to the enquiries and deletes the media rows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 03:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The preset's acknowledge_within (working-together-2023.toml, [media]); corrected on first look.
ACKNOWLEDGE_WITHIN = timedelta(minutes=15)

_enquiry = sa.table(
    'mediaenquiry', sa.column('id', sa.Integer()), sa.column('status', sa.String()),
    sa.column('received_at', sa.DateTime()), sa.column('journalist_deadline', sa.DateTime()),
    sa.column('acknowledged_at', sa.DateTime()), sa.column('alerts_repeated', sa.Integer()),
    sa.column('reminders_sent', sa.Integer()), sa.column('next_action_at', sa.DateTime()),
)
_deadline = sa.table(
    'deadline', sa.column('id', sa.Integer()), sa.column('case_id', sa.Integer()),
    sa.column('media_enquiry_id', sa.Integer()), sa.column('kind', sa.String()),
    sa.column('anchor_at', sa.DateTime()), sa.column('due_at', sa.DateTime()),
    sa.column('met_at', sa.DateTime()), sa.column('cancelled_at', sa.DateTime()),
    sa.column('step', sa.Integer()), sa.column('next_action_at', sa.DateTime()),
    sa.column('working_hours', sa.Boolean()),
)


def upgrade() -> None:
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('media_enquiry_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('working_hours', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.create_index(batch_op.f('ix_deadline_media_enquiry_id'), ['media_enquiry_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('deadline_media_enquiry_id_fkey'), 'mediaenquiry',
                                    ['media_enquiry_id'], ['id'])
    _open_rows_for_open_enquiries()
    with op.batch_alter_table('mediaenquiry', schema=None) as batch_op:
        batch_op.drop_index('ix_media_next_action')
        batch_op.drop_column('next_action_at')
        batch_op.drop_column('reminders_sent')


def _open_rows_for_open_enquiries() -> None:
    conn = op.get_bind()
    enquiries = conn.execute(
        sa.select(_enquiry).where(_enquiry.c.status.in_(('open', 'acknowledged'))).order_by(_enquiry.c.id)
    ).mappings().all()
    rows = []
    for e in enquiries:
        unacknowledged = e['status'] == 'open'
        rows.append({
            'media_enquiry_id': e['id'], 'kind': 'media_acknowledgement', 'anchor_at': e['received_at'],
            'due_at': e['received_at'] + ACKNOWLEDGE_WITHIN, 'step': e['alerts_repeated'],
            'met_at': None if unacknowledged else e['acknowledged_at'] or e['received_at'],
            'next_action_at': e['next_action_at'] if unacknowledged else None,
        })
        if e['journalist_deadline'] is not None:
            rows.append({
                'media_enquiry_id': e['id'], 'kind': 'media_deadline', 'anchor_at': e['received_at'],
                'due_at': e['journalist_deadline'], 'step': e['reminders_sent'], 'met_at': None,
                'next_action_at': e['next_action_at'],
            })
    if rows:
        conn.execute(sa.insert(_deadline), [
            {**row, 'case_id': None, 'cancelled_at': None, 'working_hours': False} for row in rows
        ])


def downgrade() -> None:
    with op.batch_alter_table('mediaenquiry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminders_sent', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_action_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_media_next_action', ['next_action_at'], unique=False)
    conn = op.get_bind()
    media_rows = conn.execute(
        sa.select(_deadline).where(_deadline.c.media_enquiry_id.is_not(None)).order_by(_deadline.c.id)
    ).mappings().all()
    back: dict[int, dict[str, object]] = {}
    for row in media_rows:
        values = back.setdefault(row['media_enquiry_id'], {'reminders_sent': 0, 'next_action_at': None})
        if row['kind'] == 'media_deadline':
            values['reminders_sent'] = row['step']
        at = row['next_action_at']
        if at is not None and (values['next_action_at'] is None or at < values['next_action_at']):
            values['next_action_at'] = at
    for enquiry_id, values in back.items():
        conn.execute(sa.update(_enquiry).where(_enquiry.c.id == enquiry_id).values(**values))
    conn.execute(sa.delete(_deadline).where(_deadline.c.media_enquiry_id.is_not(None)))
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('deadline_media_enquiry_id_fkey'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_deadline_media_enquiry_id'))
        batch_op.drop_column('working_hours')
        batch_op.drop_column('media_enquiry_id')
        batch_op.alter_column('case_id', existing_type=sa.Integer(), nullable=False)
