"""Chat posts are rows (issue 11 item 2; decision 0019).

The case card and the media alert were remembered in Slack-only columns (case.slack_channel /
slack_ts, mediaenquiry.slack_channel / slack_ts / slack_posted_at). They become rows of
``chatpost`` keyed by (surface, object_kind, object_id, conversation), so Teams (or any later
surface) keeps its own post of the same case. The upgrade COPIES every existing Slack post into a
row before dropping the columns, so an upgraded bot updates the same Slack messages in place
instead of posting a second card. A case card's first posting time was never recorded: the case's
creation time stands in (the card is posted when the case opens). The downgrade restores the
columns from the Slack rows (the earliest post of each object); Teams rows are lost with the table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 23:43:51.842100
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COPY_CASE_CARDS = """
INSERT INTO chatpost (surface, object_kind, object_id, conversation, message_id, posted_at, updated_at)
SELECT 'slack', 'case', id, slack_channel, slack_ts, created_at, updated_at FROM "case"
WHERE slack_channel IS NOT NULL AND slack_ts IS NOT NULL
ORDER BY id
"""

COPY_MEDIA_ALERTS = """
INSERT INTO chatpost (surface, object_kind, object_id, conversation, message_id, posted_at, updated_at)
SELECT 'slack', 'media', id, slack_channel, slack_ts, COALESCE(slack_posted_at, received_at),
       COALESCE(slack_posted_at, received_at)
FROM mediaenquiry
WHERE slack_channel IS NOT NULL AND slack_ts IS NOT NULL
ORDER BY id
"""

#: The earliest Slack post of each object: the one whose thread the older code replied under.
_FIRST = """(SELECT {column} FROM chatpost p WHERE p.surface = 'slack' AND p.object_kind = '{kind}'
             AND p.object_id = {table}.id ORDER BY p.posted_at, p.id LIMIT 1)"""

RESTORE_CASE_CARDS = 'UPDATE "case" SET slack_channel = {}, slack_ts = {}'.format(
    _FIRST.format(column="conversation", kind="case", table='"case"'),
    _FIRST.format(column="message_id", kind="case", table='"case"'),
)

RESTORE_MEDIA_ALERTS = "UPDATE mediaenquiry SET slack_channel = {}, slack_ts = {}, slack_posted_at = {}".format(
    _FIRST.format(column="conversation", kind="media", table="mediaenquiry"),
    _FIRST.format(column="message_id", kind="media", table="mediaenquiry"),
    _FIRST.format(column="posted_at", kind="media", table="mediaenquiry"),
)


def upgrade() -> None:
    op.create_table('chatpost',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('surface', sa.String(), nullable=False),
    sa.Column('object_kind', sa.String(), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('conversation', sa.String(), nullable=False),
    sa.Column('message_id', sa.String(), nullable=False),
    sa.Column('posted_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('chatpost_pkey')),
    sa.UniqueConstraint('surface', 'object_kind', 'object_id', 'conversation',
                        name=op.f('chatpost_surface_object_kind_object_id_conversation_key'))
    )
    # Before the columns go: the posts existing installations have are kept, not re-posted.
    op.execute(COPY_CASE_CARDS)
    op.execute(COPY_MEDIA_ALERTS)

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('slack_ts')
        batch_op.drop_column('slack_channel')

    with op.batch_alter_table('mediaenquiry', schema=None) as batch_op:
        batch_op.drop_column('slack_posted_at')
        batch_op.drop_column('slack_ts')
        batch_op.drop_column('slack_channel')


def downgrade() -> None:
    with op.batch_alter_table('mediaenquiry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slack_channel', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('slack_ts', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('slack_posted_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slack_channel', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('slack_ts', sa.String(), nullable=True))

    op.execute(RESTORE_CASE_CARDS)
    op.execute(RESTORE_MEDIA_ALERTS)
    op.drop_table('chatpost')
