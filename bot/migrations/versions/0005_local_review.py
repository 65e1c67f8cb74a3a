"""The local review lifecycle (issue 12; decision 0022).

Adds the ``localreview`` table (one row per case under a local review: methodology, reviewer,
terms of reference), ``deadline.owner`` (who owes a clock and is chased) and
``publication.expected_publication_date`` (the delay notice, KIR l.316). No stage value is
renamed: the new stages are new values, and a case at ``lcspr``, ``embargoed``,
``pre_publication`` or ``published`` keeps its stage. Existing deadlines keep ``owner`` NULL, which
means the plan they always had; a case that reached the local review before this revision gets
its ``localreview`` row on first use (methodology from the protocol), so nothing is copied here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('localreview',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('methodology', sa.String(), nullable=False),
    sa.Column('reviewer_name', sa.String(), nullable=True),
    sa.Column('reviewer_email', sa.String(), nullable=True),
    sa.Column('tor_agreed_on', sa.Date(), nullable=True),
    sa.Column('commissioned_at', sa.DateTime(), nullable=True),
    sa.Column('commissioned_by', sa.String(), nullable=True),
    sa.Column('learning_events', sa.Integer(), nullable=False),
    sa.Column('target_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('localreview_case_id_fkey')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('localreview_pkey'))
    )
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(), nullable=True))
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expected_publication_date', sa.Date(), nullable=True))


def downgrade() -> None:
    # Cases at a stage the older code does not know go back to the nearest one it does, so an
    # older bot can still read every case (and the upgrade after it changes nothing back).
    op.execute("""UPDATE "case" SET stage = 'lcspr' WHERE stage IN ('composite_chronology',
        'learning_event', 'first_draft', 'workstream', 'business_group', 'endorsement',
        'final_approved')""")
    op.execute("""UPDATE "case" SET stage = 'published' WHERE stage IN ('embedding', 'recall')""")
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.drop_column('expected_publication_date')
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_column('owner')
    op.drop_table('localreview')
