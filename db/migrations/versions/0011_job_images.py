"""Image jobs: the `image` job kind, and the PNGs each image job drew in a table of their own.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 15:30:00.000000

"""

from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa

import db.base


# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = ("reply", "sentiment", "generate")
KINDS_AFTER = (*KINDS_BEFORE, "image")


def _kind_check(kinds: tuple[str, ...]) -> None:
    # jobs.kind is a VARCHAR whose CHECK constraint lists the kinds (db.base.enum_column); batch mode
    # recreates the table on SQLite, which cannot alter a constraint in place.
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_jobs_jobkind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_jobs_jobkind"), f"kind IN ({listed})")


def upgrade() -> None:
    """Upgrade schema."""
    _kind_check(KINDS_AFTER)
    op.create_table(
        "job_images",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("digit", sa.Integer(), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("slack_file_id", sa.String(length=30), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_images_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "index", name=op.f("pk_job_images")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("job_images")
    op.execute("DELETE FROM jobs WHERE kind = 'image'")
    _kind_check(KINDS_BEFORE)
