"""When the Slack streamer asked Slack for a stream whose message it may not have stored.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 01:20:00.000000

"""

from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa

import db.base


# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("slack_deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stream_requested_at", db.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("slack_deliveries", schema=None) as batch_op:
        batch_op.drop_column("stream_requested_at")
