"""Periodic reports per topic and period; observations indexed by arrival, which reports cover.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 23:08:16.382397

"""

from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa

import db.base


# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("period_start", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("volume", sa.Integer(), nullable=False),
        sa.Column("negatives", sa.Integer(), nullable=False),
        sa.Column("neutrals", sa.Integer(), nullable=False),
        sa.Column("positives", sa.Integer(), nullable=False),
        sa.Column("mean_score", sa.Float(), nullable=False),
        sa.Column("previous", sa.JSON(), nullable=True),
        sa.Column("alerts_raised", sa.Integer(), nullable=False),
        sa.Column("top_negative", sa.JSON(), nullable=False),
        sa.Column("key_terms", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("slack_message_ts", sa.String(length=30), nullable=True),
        sa.Column("created_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint(
            "topic", "period_start", "period_end", name=op.f("uq_reports_topic_period_start_period_end")
        ),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index("ix_reports_created_at", ["created_at"], unique=False)

    with op.batch_alter_table("sentiment_observations", schema=None) as batch_op:
        batch_op.create_index("ix_sentiment_observations_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("sentiment_observations", schema=None) as batch_op:
        batch_op.drop_index("ix_sentiment_observations_created_at")

    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_created_at")

    op.drop_table("reports")
