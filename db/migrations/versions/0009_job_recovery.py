"""When a job's message was last sent and which worker process runs it, for the job sweeper.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 03:20:00.000000

"""

from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa

import db.base


# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enqueued_at", db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
    # Jobs stored before this revision were sent when they were created.
    op.execute("UPDATE jobs SET enqueued_at = created_at")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("enqueued_at")
