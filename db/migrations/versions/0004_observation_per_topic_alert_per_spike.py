"""One sentiment observation per topic of an item; one alert per spike (topic, metric, bucket).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:24:48.105561

"""
from collections.abc import Sequence

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_alerts_topic_metric_window_start'), ['topic', 'metric', 'window_start'])

    with op.batch_alter_table('sentiment_observations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_sentiment_observations_job_id_item_index'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_sentiment_observations_job_id_item_index_topic'), ['job_id', 'item_index', 'topic'])



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('sentiment_observations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_sentiment_observations_job_id_item_index_topic'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_sentiment_observations_job_id_item_index'), ['job_id', 'item_index'])

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_alerts_topic_metric_window_start'), type_='unique')

