"""Which database the suite runs on: SQLite by default, or a private PostgreSQL cluster
(``tests/support/postgres_server.py``) with ``QUEUEBOT_TEST_DATABASE=postgresql``, as ``make test``'s
second pass does. Chosen when conftest is imported, before any setting is read."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from cli.redis_server import free_port
from tests.support.postgres_server import PostgresServer

BACKENDS = ("sqlite", "postgresql")
BACKEND = os.environ.get("QUEUEBOT_TEST_DATABASE", "sqlite")
if BACKEND not in BACKENDS:
    raise ValueError(f"QUEUEBOT_TEST_DATABASE is {BACKEND!r}; it may be one of {BACKENDS}")

POSTGRES: PostgresServer | None = PostgresServer(free_port()) if BACKEND == "postgresql" else None


def main_database_url(state_dir: Path) -> str:
    """The database every stack fixture shares (its server is started by the ``database`` fixture)."""
    if POSTGRES is not None:
        return POSTGRES.url
    return f"sqlite:///{state_dir / 'queuebot-test.db'}"


def private_database_url(state_dir: Path, name: str) -> str:
    """An empty database of its own, on the suite's backend, for a test that must not share one."""
    if POSTGRES is not None:
        return POSTGRES.create_database(f"{name}_{uuid.uuid4().hex[:8]}")
    return f"sqlite:///{state_dir / f'{name}-{uuid.uuid4().hex[:8]}.db'}"
