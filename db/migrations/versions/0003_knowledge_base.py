"""The knowledge base: approved answers and the question variants (with embeddings) they answer.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:36:01.389940

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.base


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('knowledge_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('intent', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('content_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_entries')),
    sa.UniqueConstraint('content_key', name=op.f('uq_knowledge_entries_content_key'))
    )
    with op.batch_alter_table('knowledge_entries', schema=None) as batch_op:
        batch_op.create_index('ix_knowledge_entries_intent', ['intent'], unique=False)

    op.create_table('knowledge_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('embedding', sa.LargeBinary(), nullable=True),
    sa.Column('embedding_model', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['knowledge_entries.id'], name=op.f('fk_knowledge_questions_entry_id_knowledge_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_questions')),
    sa.UniqueConstraint('entry_id', 'text', name=op.f('uq_knowledge_questions_entry_id_text'))
    )
    with op.batch_alter_table('knowledge_questions', schema=None) as batch_op:
        batch_op.create_index('ix_knowledge_questions_embedding_model', ['embedding_model'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('knowledge_questions', schema=None) as batch_op:
        batch_op.drop_index('ix_knowledge_questions_embedding_model')

    op.drop_table('knowledge_questions')
    with op.batch_alter_table('knowledge_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_knowledge_entries_intent')

    op.drop_table('knowledge_entries')
