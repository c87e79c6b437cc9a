"""The Alembic migrations build exactly the schema the models describe."""

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect

from db.migrate import alembic_config, upgrade_to_head


def test_upgrade_creates_every_table_on_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"

    upgrade_to_head(url)

    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"jobs", "conversations", "messages", "sentiment_observations", "alerts"} <= tables


def test_models_and_migrations_do_not_drift(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'check.db'}"
    upgrade_to_head(url)

    # Raises when the models hold a change that no migration writes.
    command.check(alembic_config(url))


def test_jobs_table_indexes_what_the_queries_filter_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'indexes.db'}"
    upgrade_to_head(url)

    indexed = {tuple(ix["column_names"]) for ix in inspect(create_engine(url)).get_indexes("jobs")}
    assert ("kind", "status", "created_at") in indexed
    assert ("source", "created_at") in indexed
