"""Suggested articles: what each reply showed (in order, with scores) and every click on them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 15:18:49.611634

"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa

import db.base


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('recommendation_impressions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('ranker_version', sa.String(length=100), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_recommendation_impressions_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_recommendation_impressions_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recommendation_impressions')),
    sa.UniqueConstraint('job_id', name=op.f('uq_recommendation_impressions_job_id'))
    )
    with op.batch_alter_table('recommendation_impressions', schema=None) as batch_op:
        batch_op.create_index('ix_recommendation_impressions_conversation_id_created_at', ['conversation_id', 'created_at'], unique=False)

    op.create_table('recommendation_clicks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('impression_id', sa.String(length=36), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('web', 'slack', 'api', name='jobsource', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['impression_id'], ['recommendation_impressions.id'], name='fk_recommendation_clicks_impression', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recommendation_clicks'))
    )
    with op.batch_alter_table('recommendation_clicks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recommendation_clicks_impression_id'), ['impression_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('recommendation_clicks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recommendation_clicks_impression_id'))

    op.drop_table('recommendation_clicks')
    with op.batch_alter_table('recommendation_impressions', schema=None) as batch_op:
        batch_op.drop_index('ix_recommendation_impressions_conversation_id_created_at')

    op.drop_table('recommendation_impressions')
