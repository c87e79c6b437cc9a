"""Slack deliveries (where a finished job's result is posted), feedback on bot answers, and the
Slack message of each posted alert.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:50:18.044017

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('rating', sa.Enum('up', 'down', name='rating', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('source', sa.Enum('web', 'slack', 'api', name='jobsource', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('user_id', sa.String(length=100), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_feedback_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback')),
    sa.UniqueConstraint('job_id', 'source', 'user_id', name=op.f('uq_feedback_job_id_source_user_id'))
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_job_id'), ['job_id'], unique=False)

    op.create_table('slack_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('channel', sa.String(length=50), nullable=False),
    sa.Column('thread_ts', sa.String(length=30), nullable=True),
    sa.Column('placeholder_ts', sa.String(length=30), nullable=True),
    sa.Column('response_url', sa.Text(), nullable=True),
    sa.Column('user_id', sa.String(length=50), nullable=True),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', name='deliverystatus', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('message_ts', sa.String(length=30), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_slack_deliveries_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slack_deliveries')),
    sa.UniqueConstraint('job_id', name=op.f('uq_slack_deliveries_job_id'))
    )
    with op.batch_alter_table('slack_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_slack_deliveries_status_created_at', ['status', 'created_at'], unique=False)

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slack_message_ts', sa.String(length=30), nullable=True))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('slack_message_ts')

    with op.batch_alter_table('slack_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_slack_deliveries_status_created_at')

    op.drop_table('slack_deliveries')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_job_id'))

    op.drop_table('feedback')
