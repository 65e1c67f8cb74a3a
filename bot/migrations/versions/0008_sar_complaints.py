"""Safeguarding adults reviews and complaints (issue 12 item 5; decision 0028).

Adds ``case.kind`` (every existing case is a "child" case: a serious incident and its reviews),
the ``sarreview`` table (a SAR's screening, recommendation and the Independent Chair's decision)
and the ``complaint`` table (a complaint's dates and its complainant, who is identifying). The
SAR and complaint stages are new stage values; no existing value changes.

The downgrade refuses while a SAR or a complaint exists: the older code knows neither their
stages nor their clocks, and dropping them would lose a statutory record.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 04:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(), server_default='child', nullable=False))
        batch_op.create_index(batch_op.f('ix_case_kind'), ['kind'], unique=False)
    op.create_table('sarreview',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('basis', sa.String(), nullable=True),
    sa.Column('screening_held_at', sa.DateTime(), nullable=True),
    sa.Column('recommendation', sa.String(), nullable=True),
    sa.Column('recommendation_sent_at', sa.DateTime(), nullable=True),
    sa.Column('decision', sa.String(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('sarreview_case_id_fkey')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('sarreview_pkey'))
    )
    op.create_table('complaint',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('about_case_id', sa.Integer(), nullable=True),
    sa.Column('about', sa.String(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('complainant_name', sa.String(), nullable=False),
    sa.Column('complainant_contact', sa.String(), nullable=False),
    sa.Column('responded_on', sa.Date(), nullable=True),
    sa.Column('escalated_on', sa.Date(), nullable=True),
    sa.Column('chair_responded_on', sa.Date(), nullable=True),
    sa.Column('ombudsman_referred', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['about_case_id'], ['case.id'], name=op.f('complaint_about_case_id_fkey')),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('complaint_case_id_fkey')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('complaint_pkey'))
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_about_case_id'), ['about_case_id'], unique=False)


def downgrade() -> None:
    kept = op.get_bind().execute(sa.text("""SELECT COUNT(*) FROM "case" WHERE kind <> 'child'""")).scalar()
    if kept:
        raise RuntimeError(f"{kept} SAR or complaint case(s) exist; the older schema cannot hold them. "
                           "Keep this revision: nothing was changed.")
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_about_case_id'))
    op.drop_table('complaint')
    op.drop_table('sarreview')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_kind'))
        batch_op.drop_column('kind')
