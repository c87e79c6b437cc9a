"""/readyz and the web app's /metrics over real HTTP, against the real database and Redis."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bots.web.app import create_app
from bots.web.metrics import queue_keys
from bots.web.probes import PROBE_TIMEOUT_S
from cli.redis_server import RedisServer, free_port
from core.jobs import JobKind, JobStatus, Queue
from core.settings import Settings, get_settings
from db.engine import session_scope
from db.models import Job
from tests.support.stack_fixtures import wait_for_job
from tests.support.waiting import wait_until_serving


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of one metric, keyed by their sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def app_settings(**changes: Any) -> Settings:
    # Without the Slack bot: building it would call auth.test, which these apps do not need.
    return get_settings().model_copy(update={"slack_bot_token": None, **changes})


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """The app on a port of its own, over real HTTP; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-observability", daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    wait_until_serving(base_url, thread, "the app under uvicorn")
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(10)


def test_readyz_is_ready_without_a_token_when_database_and_redis_answer(anonymous_api: httpx.Client) -> None:
    response = anonymous_api.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


def test_readyz_answers_503_naming_redis_when_nothing_listens_on_its_port(database: str) -> None:
    app = create_app(app_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"))

    with serve(app) as base_url:
        response = httpx.get(f"{base_url}/readyz", timeout=10)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("failed: ")
    # The unauthenticated answer names no address.
    assert "127.0.0.1" not in response.text


def test_readyz_answers_503_in_bounded_time_when_redis_accepts_but_never_replies(database: str) -> None:
    # A socket that listens but never reads: the connection succeeds and PING waits for an answer
    # that never comes, as with a hung server or a black-holed network.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        app = create_app(app_settings(redis_url=f"redis://127.0.0.1:{silent.getsockname()[1]}/0"))
        with serve(app) as base_url:
            started = time.monotonic()
            response = httpx.get(f"{base_url}/readyz", timeout=30)
            elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["checks"]["redis"] in ("timeout", "failed: TimeoutError")
    assert elapsed < PROBE_TIMEOUT_S + 2


@pytest.mark.usefixtures("celery_worker")
def test_metrics_after_a_job_show_jobs_by_kind_and_status_and_the_depth_of_every_queue(
    api: httpx.Client, anonymous_api: httpx.Client
) -> None:
    accepted = api.post("/api/sentiment", json={"items": [{"text": "The parcel came late and broken"}]})
    assert wait_for_job(api, accepted.json()["id"])["status"] == "done"

    response = anonymous_api.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    jobs = samples(response.text, "queuebot_jobs")
    with session_scope() as session:
        done = session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.kind == JobKind.SENTIMENT, Job.status == JobStatus.DONE)
        )
    assert done >= 1
    assert jobs[("kind", "sentiment"), ("status", "done")] == done
    # Every kind and status has its series, zeros included.
    assert len(jobs) == len(JobKind) * len(JobStatus)
    depth = samples(response.text, "queuebot_queue_depth")
    assert {labels[0][1] for labels in depth} == {queue.value for queue in Queue}
    assert all(value >= 0 for value in depth.values())
    assert samples(response.text, "queuebot_metrics_source_up") == {
        (("source", "database"),): 1.0,
        (("source", "redis"),): 1.0,
    }


def test_queue_depth_counts_the_messages_waiting_in_redis_priority_lists_included(
    database: str, redis_server: RedisServer
) -> None:
    # A Redis database no worker consumes from, so the messages stay where they were put.
    url = f"redis://127.0.0.1:{redis_server.port}/7"
    client = redis.Redis.from_url(url)
    client.flushdb()
    plain, *priority_lists = queue_keys(Queue.BATCH)
    client.lpush(plain, "m1", "m2", "m3")
    client.lpush(priority_lists[0], "urgent")
    client.lpush(Queue.IO.value, "m4")
    try:
        with serve(create_app(app_settings(redis_url=url))) as base_url:
            text = httpx.get(f"{base_url}/metrics", timeout=10).text
    finally:
        client.flushdb()
        client.close()

    assert samples(text, "queuebot_queue_depth") == {
        (("queue", "batch"),): 4.0,
        (("queue", "interactive"),): 0.0,
        (("queue", "io"),): 1.0,
    }


def test_metrics_leave_out_the_gauges_of_a_source_they_cannot_read(database: str) -> None:
    app = create_app(app_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"))

    with serve(app) as base_url:
        response = httpx.get(f"{base_url}/metrics", timeout=10)

    assert response.status_code == 200
    assert samples(response.text, "queuebot_queue_depth") == {}
    assert samples(response.text, "queuebot_jobs")
    assert samples(response.text, "queuebot_metrics_source_up")[(("source", "redis"),)] == 0.0


def test_metrics_need_the_api_token_when_the_settings_say_so(
    database: str, redis_server: RedisServer
) -> None:
    token = get_settings().api_token.get_secret_value()

    with serve(create_app(app_settings(metrics_require_token=True))) as base_url:
        anonymous = httpx.get(f"{base_url}/metrics", timeout=10)
        signed_in = httpx.get(f"{base_url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        ready = httpx.get(f"{base_url}/readyz", timeout=10)

    assert anonymous.status_code == 401
    assert signed_in.status_code == 200 and "queuebot_jobs" in signed_in.text
    # Probes stay open: a load balancer has no token.
    assert ready.status_code == 200
