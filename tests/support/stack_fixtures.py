"""The real stack for tests: a redis-server process, a migrated SQLite file, Celery's embedded
worker and the web app served by uvicorn over HTTP on loopback.

tests/conftest.py sets the environment (Redis port, database file, token) before any project
module is imported, because Celery reads its broker URL at import time.
"""

from __future__ import annotations

import os
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from cli.redis_server import RedisServer, free_port
from core.settings import get_settings, reset_settings_cache
from tests.support.database_choice import POSTGRES, private_database_url
from tests.support.postgres_server import PostgresServer
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import SlackSender
from tests.support.waiting import OUTCOME_TIMEOUT_S, wait_for, wait_until_serving


def celery_beat_command(schedule: Path) -> list[str]:
    """`celery beat` on the project's app, as a deployment runs it (its schedule file at ``schedule``)."""
    app = [sys.executable, "-m", "celery", "-A", "workers.celery_app"]
    return [*app, "beat", "--loglevel", "INFO", "--schedule", str(schedule)]


def use_models_dir(models_dir: Path) -> None:
    """Point the settings (and so the worker's registry) at another models folder."""
    os.environ["QUEUEBOT_MODELS_DIR"] = str(models_dir)
    reset_settings_cache()


@pytest.fixture(scope="session")
def fake_slack() -> Iterator[FakeSlack]:
    """Slack's Web API on loopback; the web app calls auth.test on it when it starts."""
    server = FakeSlack(urlparse(get_settings().slack_api_url).port or 80)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    port = int(os.environ["QUEUEBOT_REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    server = RedisServer(port)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_server() -> Iterator[PostgresServer | None]:
    """The private PostgreSQL cluster, running, when the suite runs on PostgreSQL; else None."""
    if POSTGRES is None:
        yield None
        return
    POSTGRES.start()
    yield POSTGRES
    POSTGRES.remove()


@pytest.fixture(scope="session")
def database(database_server: PostgresServer | None) -> str:
    """The suite's shared database, migrated."""
    from db.migrate import upgrade_to_head

    url = get_settings().sqlalchemy_url
    upgrade_to_head(url)
    return url


@pytest.fixture
def empty_database_url(database_server: PostgresServer | None, tmp_path: Path) -> str:
    """A new, empty database on the suite's backend, for a test that builds its own schema."""
    return private_database_url(tmp_path, "empty")


@pytest.fixture(scope="session")
def celery_worker(
    redis_server: RedisServer, database: str, tiny_models_dir: Path, knowledge_base: Path
) -> Iterator[Any]:
    # Registers celery.ping, without which start_worker fails with a bare AssertionError.
    import celery.contrib.testing.tasks  # noqa: F401
    from celery.contrib.testing.worker import start_worker

    from workers.celery_app import celery_app

    use_models_dir(tiny_models_dir)
    # The production pool: task threads that meet in the models' micro-batchers.
    with start_worker(
        celery_app, pool="threads", concurrency=8, perform_ping_check=False, shutdown_timeout=30
    ) as worker:
        yield worker


class ApiServer:
    def __init__(self, port: int) -> None:
        from bots.web.app import create_app

        config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.base_url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def start(self) -> None:
        self.thread.start()
        wait_until_serving(self.base_url, self.thread, "the web app under uvicorn")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def api_server(redis_server: RedisServer, database: str, fake_slack: FakeSlack) -> Iterator[ApiServer]:
    server = ApiServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(api_server: ApiServer) -> Iterator[httpx.Client]:
    """An HTTP client for the real app, signed in with the API token."""
    token = get_settings().api_token.get_secret_value()
    with httpx.Client(
        base_url=api_server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as client:
        yield client


@pytest.fixture
def anonymous_api(api_server: ApiServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_server.base_url, timeout=10) as client:
        yield client


def wait_for_job(api: httpx.Client, job_id: str, timeout_s: float = OUTCOME_TIMEOUT_S) -> dict[str, Any]:
    """Poll the API until the job is done or failed; returns its final JSON."""

    def job() -> dict[str, Any]:
        return api.get(f"/api/jobs/{job_id}").raise_for_status().json()

    return wait_for(
        job,
        f"job {job_id} done or failed",
        until=lambda job: job["status"] in ("done", "failed"),
        timeout_s=timeout_s,
        interval_s=0.05,
    )


def ask_and_wait(api: httpx.Client, message: str, conversation_id: int | None = None) -> dict[str, Any]:
    """A chat message through the API, waited on until its reply job is done; the job's JSON with the
    conversation's id."""
    body = {"message": message} | ({"conversation_id": conversation_id} if conversation_id else {})
    accepted = api.post("/api/chat", json=body)
    assert accepted.status_code == 202, accepted.text
    job = wait_for_job(api, accepted.json()["job"]["id"])
    assert job["status"] == "done", job["error"]
    return job | {"conversation_id": accepted.json()["conversation_id"]}


@pytest.fixture
def slack(api_server: ApiServer) -> Iterator[SlackSender]:
    """Sends signed events, commands and clicks to the real app's /slack/events, as Slack does."""
    secret = get_settings().slack_signing_secret
    assert secret is not None
    with httpx.Client(base_url=api_server.base_url, timeout=10) as client:
        yield SlackSender(client, secret.get_secret_value())


@pytest.fixture
def channel() -> Iterator[str]:
    """A Slack channel of the test's own: pacing is per channel, so tests never wait on each other.

    The test ends when the channel's deliveries have ended, so no worker thread is still posting
    (and logging) for it while the next test runs.
    """
    name = f"C{uuid.uuid4().hex[:10].upper()}"
    yield name
    from db.engine import session_scope
    from db.models import DeliveryStatus, SlackDelivery

    def pending() -> int:
        with session_scope() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(SlackDelivery)
                    .where(SlackDelivery.channel == name, SlackDelivery.status == DeliveryStatus.PENDING)
                )
                or 0
            )

    wait_for(pending, f"no delivery to {name} pending", until=lambda count: count == 0, interval_s=0.05)
