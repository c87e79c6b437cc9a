"""Initial tables: jobs, conversations and messages, sentiment observations, alerts.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 09:18:16.554695

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=100), nullable=False),
    sa.Column('window_start', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('window_end', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('metric', sa.String(length=50), nullable=False),
    sa.Column('baseline', sa.Float(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('open', 'acknowledged', 'resolved', name='alertstatus', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_status_created_at', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_alerts_topic_created_at', ['topic', 'created_at'], unique=False)

    op.create_table('conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('web', 'slack', 'api', name='jobsource', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('status', sa.Enum('open', 'handoff', 'closed', name='conversationstatus', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_conversations_source_external_id'))
    )
    op.create_table('jobs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.Enum('reply', 'sentiment', 'generate', name='jobkind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='jobstatus', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('source', sa.Enum('web', 'slack', 'api', name='jobsource', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('input', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('model_name', sa.String(length=100), nullable=True),
    sa.Column('model_version', sa.String(length=100), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_jobs_idempotency_key'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_jobs_kind_status_created_at', ['kind', 'status', 'created_at'], unique=False)
        batch_op.create_index('ix_jobs_source_created_at', ['source', 'created_at'], unique=False)
        batch_op.create_index('ix_jobs_status_created_at', ['status', 'created_at'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('user', 'bot', name='messagerole', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_messages_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_messages_job_id_jobs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_conversation_id_id', ['conversation_id', 'id'], unique=False)
        batch_op.create_index('ix_messages_job_id', ['job_id'], unique=False)

    op.create_table('sentiment_observations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('item_index', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('topic', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('label', sa.String(length=20), nullable=False),
    sa.Column('p_negative', sa.Float(), nullable=False),
    sa.Column('p_neutral', sa.Float(), nullable=False),
    sa.Column('p_positive', sa.Float(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('model_name', sa.String(length=100), nullable=False),
    sa.Column('model_version', sa.String(length=100), nullable=False),
    sa.Column('occurred_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_sentiment_observations_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sentiment_observations')),
    sa.UniqueConstraint('job_id', 'item_index', name=op.f('uq_sentiment_observations_job_id_item_index'))
    )
    with op.batch_alter_table('sentiment_observations', schema=None) as batch_op:
        batch_op.create_index('ix_sentiment_observations_occurred_at', ['occurred_at'], unique=False)
        batch_op.create_index('ix_sentiment_observations_topic_occurred_at', ['topic', 'occurred_at'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('sentiment_observations', schema=None) as batch_op:
        batch_op.drop_index('ix_sentiment_observations_topic_occurred_at')
        batch_op.drop_index('ix_sentiment_observations_occurred_at')

    op.drop_table('sentiment_observations')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_job_id')
        batch_op.drop_index('ix_messages_conversation_id_id')

    op.drop_table('messages')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_status_created_at')
        batch_op.drop_index('ix_jobs_source_created_at')
        batch_op.drop_index('ix_jobs_kind_status_created_at')
        batch_op.drop_index('ix_jobs_created_at')

    op.drop_table('jobs')
    op.drop_table('conversations')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_topic_created_at')
        batch_op.drop_index('ix_alerts_status_created_at')

    op.drop_table('alerts')
