"""Where each observation's topic came from (given, keyword, predicted, default), and the topic
model's calibrated confidence for a predicted one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 15:30:00.000000

"""

from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("sentiment_observations", schema=None) as batch_op:
        # Rows stored before this revision got their topics from the item or a keyword list, which
        # they did not record apart: both count as "given" (no topic was predicted then).
        batch_op.add_column(
            sa.Column("topic_source", sa.String(length=20), nullable=False, server_default="given")
        )
        batch_op.add_column(sa.Column("topic_confidence", sa.Float(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("sentiment_observations", schema=None) as batch_op:
        batch_op.drop_column("topic_confidence")
        batch_op.drop_column("topic_source")
