"""The Alembic migrations build exactly the schema the models describe, on the suite's database
(SQLite, or PostgreSQL in make test's second pass), and go down to nothing and up again."""

from alembic import command
from sqlalchemy import create_engine, inspect

from db.migrate import alembic_config, upgrade_to_head


def test_upgrade_creates_every_table_on_an_empty_database(empty_database_url: str) -> None:
    url = empty_database_url

    upgrade_to_head(url)

    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"jobs", "conversations", "messages", "sentiment_observations", "alerts"} <= tables


def test_models_and_migrations_do_not_drift(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade_to_head(url)

    # Raises when the models hold a change that no migration writes.
    command.check(alembic_config(url))


def test_jobs_table_indexes_what_the_queries_filter_on(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade_to_head(url)

    indexed = {tuple(ix["column_names"]) for ix in inspect(create_engine(url)).get_indexes("jobs")}
    assert ("kind", "status", "created_at") in indexed
    assert ("source", "created_at") in indexed


def test_downgrade_to_base_and_upgrade_again_leave_the_same_schema(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade_to_head(url)
    before = _schema(url)

    command.downgrade(alembic_config(url), "base")
    assert set(inspect(create_engine(url)).get_table_names()) <= {"alembic_version"}
    upgrade_to_head(url)

    assert _schema(url) == before


def _schema(url: str) -> dict[str, list[tuple[str, str]]]:
    inspector = inspect(create_engine(url))
    return {
        table: sorted((column["name"], str(column["type"])) for column in inspector.get_columns(table))
        for table in sorted(inspector.get_table_names())
    }
