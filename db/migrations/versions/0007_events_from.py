"""A sentiment job's earliest item time, which holds spike detection back until the job is stored.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 23:13:59.129778

"""

from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa

import db.base


# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("events_from", db.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("events_from")
