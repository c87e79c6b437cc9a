"""What the workers measure (job latency, model inference time, alerts raised), read from a worker
metrics endpoint over HTTP as Prometheus reads it.

The test stack's worker runs inside the test process, so its measurements are in this process's
registry; the endpoint is started here exactly as a worker process starts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from cli.redis_server import RedisServer, free_port
from cli.replay import replay
from cli.streams import StreamItem
from core import redis_keys
from core.job_results import GenerateResult
from core.jobs import SPIKE_DETECTION_ROUTE, JobKind, JobSource, JobStatus, Queue
from core.settings import get_settings
from db.engine import session_scope
from db.models import Job
from tests.support.stack_fixtures import wait_for_job
from tests.support.waiting import wait_for, wait_for_while_running
from workers.celery_app import create_celery_app
from workers.job_runner import JobOutcome, run_job
from workers.metrics import serve_worker_metrics


@pytest.fixture(scope="module")
def worker_metrics() -> str:
    port = serve_worker_metrics(get_settings().model_copy(update={"worker_metrics_port": free_port()}))
    assert port is not None
    return f"http://127.0.0.1:{port}/metrics"


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample, keyed by its name and sorted labels."""
    text = httpx.get(url, timeout=10).raise_for_status().text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


def _stored_job(kind: JobKind = JobKind.GENERATE) -> str:
    job_id = str(uuid.uuid4())
    with session_scope() as session:
        session.add(Job(id=job_id, kind=kind, source=JobSource.API, input={"n": 1}))
    return job_id


@pytest.mark.usefixtures("celery_worker")
def test_a_finished_job_is_in_its_kinds_latency_histogram_and_its_model_inference_is_timed(
    api: httpx.Client, worker_metrics: str
) -> None:
    before = scrape(worker_metrics)

    accepted = api.post("/api/sentiment", json={"items": [{"text": "Fast delivery, lovely staff"}]})
    job = wait_for_job(api, accepted.json()["id"])
    after = scrape(worker_metrics)

    assert job["status"] == "done"
    done = {"kind": "sentiment", "status": "done"}
    for name in ("queuebot_job_latency_seconds_count", "queuebot_job_run_seconds_count"):
        assert value(after, name, **done) == value(before, name, **done) + 1
    # The job took at least as long as the stored times say, within a bucket's rounding.
    created, finished = (datetime.fromisoformat(job[key]) for key in ("created_at", "finished_at"))
    latency = value(after, "queuebot_job_latency_seconds_sum", **done) - value(
        before, "queuebot_job_latency_seconds_sum", **done
    )
    assert latency == pytest.approx((finished - created).total_seconds(), abs=0.01)
    inference = "queuebot_model_inference_seconds_count"
    assert value(after, inference, model="sentiment-general") > value(
        before, inference, model="sentiment-general"
    )
    assert value(after, "queuebot_model_inference_seconds_sum", model="sentiment-general") > 0
    # Kinds no job of this test ran are there at zero (Prometheus sees the series from the start).
    assert ("queuebot_job_latency_seconds_count", (("kind", "generate"), ("status", "failed"))) in after


def test_a_failed_job_is_counted_as_failed_and_a_redelivery_is_not_counted_again(
    database: str, worker_metrics: str
) -> None:
    failed = {"kind": "generate", "status": "failed"}
    done = {"kind": "generate", "status": "done"}
    before = scrape(worker_metrics)

    def broken(_job_id: str, _input: dict[str, Any]) -> JobOutcome:
        raise RuntimeError("model exploded")

    def works(_job_id: str, _input: dict[str, Any]) -> JobOutcome:
        return JobOutcome(
            result=GenerateResult(texts=["ok"], prompt_tokens_dropped=0),
            model_name="generator",
            model_version="v1",
        )

    failing = _stored_job()
    with pytest.raises(RuntimeError):
        run_job(failing, broken)
    finishing = _stored_job()
    run_job(finishing, works)
    run_job(finishing, works)  # a redelivered message: the job is final, nothing runs
    after = scrape(worker_metrics)

    assert value(after, "queuebot_job_latency_seconds_count", **failed) == (
        value(before, "queuebot_job_latency_seconds_count", **failed) + 1
    )
    assert value(after, "queuebot_job_latency_seconds_count", **done) == (
        value(before, "queuebot_job_latency_seconds_count", **done) + 1
    )
    with session_scope() as session:
        assert session.get_one(Job, failing).status == JobStatus.FAILED


def _surge(topic: str) -> list[StreamItem]:
    """12 calm hours (2 of 12 negative), an angry hour (10 of 12), and an item that closes it."""
    start = datetime(2015, 3, 1, tzinfo=UTC)
    items = []
    for hour, negatives in [*((h, 2) for h in range(12)), (12, 10)]:
        for i in range(12):
            label = "negative" if i < negatives else "neutral"
            items.append(
                StreamItem(f"h{hour} i{i}", start + timedelta(hours=hour, minutes=i), topic, "t", label)
            )
    items.append(StreamItem("next hour", start + timedelta(hours=13), topic, "t", "neutral"))
    return items


@pytest.mark.usefixtures("celery_worker")
def test_an_alert_raised_is_counted_by_the_worker_and_shown_by_topic_on_the_web(
    api: httpx.Client, anonymous_api: httpx.Client, worker_metrics: str
) -> None:
    topic = f"metrics-{uuid.uuid4().hex[:6]}"
    before = value(scrape(worker_metrics), "queuebot_alerts_raised_total")

    report = replay(api, _surge(topic), speed=0, batch_size=40, model="sentiment-general", given_labels=True)

    assert report.failed_jobs == 0
    raised = wait_for(
        lambda: value(scrape(worker_metrics), "queuebot_alerts_raised_total") - before,
        "an alert counted",
        until=lambda raised: raised >= 1,
    )
    assert raised == 1
    web = {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(anonymous_api.get("/metrics").text)
        for sample in family.samples
        if sample.name == "queuebot_alerts"
    }
    assert web[("status", "open"), ("topic", topic)] == 1


def test_a_metrics_port_already_taken_is_logged_and_the_worker_carries_on(
    worker_metrics: str, caplog: pytest.LogCaptureFixture
) -> None:
    taken = int(worker_metrics.split(":")[2].split("/")[0])

    port = serve_worker_metrics(get_settings().model_copy(update={"worker_metrics_port": taken}))

    assert port is None
    assert any("cannot serve" in record.getMessage() for record in caplog.records)


def test_no_metrics_endpoint_when_the_port_is_zero() -> None:
    assert serve_worker_metrics(get_settings().model_copy(update={"worker_metrics_port": 0})) is None


def test_a_worker_started_from_the_command_line_serves_its_metrics_and_logs_json_naming_the_task(
    database: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    # A Redis database of its own, so this worker takes none of the session worker's messages.
    settings = get_settings().model_copy(update={"redis_url": f"redis://127.0.0.1:{redis_server.port}/5"})
    port = free_port()
    env = {
        **os.environ,
        "QUEUEBOT_REDIS_URL": settings.redis_url,
        "QUEUEBOT_LOG_FORMAT": "json",
        "QUEUEBOT_WORKER_METRICS_PORT": str(port),
        "QUEUEBOT_WARM_UP_MODELS": "false",
        # Celery's line per task succeeded (off by default) is the task line checked below.
        "QUEUEBOT_CELERY_TASK_LOGS": "true",
    }
    log_file = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", Queue.IO.value,
         "--pool", "threads", "--concurrency", "1", "--loglevel", "INFO", "--hostname", f"metrics-{port}@%h"],
        env=env, stdout=log_file.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    sender = create_celery_app(settings)
    task_id = f"spikes-{uuid.uuid4().hex[:8]}"

    def metrics_served() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        try:
            return scrape(f"http://127.0.0.1:{port}/metrics")
        except httpx.TransportError:
            return None

    def running() -> bool:
        return worker.poll() is None

    try:
        metrics = wait_for_while_running(
            metrics_served,
            "the worker serving its metrics",
            running=running,
            log=log_file.read_text,
            until=lambda metrics: metrics is not None,
        )
        # A task that is not a job: spike detection with nothing to look at.
        route = SPIKE_DETECTION_ROUTE
        sender.send_task(route.task_name, args=[{}], task_id=task_id, queue=route.queue.value)
        wait_for_while_running(
            lambda: f"{task_id}] succeeded" in log_file.read_text(),
            f"task {task_id} succeeded in the worker's log",
            running=running,
            log=log_file.read_text,
        )
    finally:
        sender.close()
        worker.terminate()
        worker.wait(30)

    assert ("queuebot_job_latency_seconds_count", (("kind", "reply"), ("status", "done"))) in metrics
    entries = [json.loads(line) for line in log_file.read_text().splitlines() if line.startswith("{")]
    [succeeded] = [entry for entry in entries if f"{task_id}] succeeded" in entry["message"]]
    assert succeeded["task_id"] == task_id and "job_id" not in succeeded
    assert any(entry["message"].endswith(" ready.") for entry in entries)


def test_a_worker_logs_no_line_per_task_received_or_succeeded_by_default(
    database: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    # A Redis database of its own, so this worker takes none of the session worker's messages.
    redis_url = f"redis://127.0.0.1:{redis_server.port}/6"
    env = {**os.environ, "QUEUEBOT_REDIS_URL": redis_url, "QUEUEBOT_WORKER_METRICS_PORT": "0"}
    env.pop("QUEUEBOT_CELERY_TASK_LOGS", None)
    log_file = tmp_path / "worker.log"
    hostname = f"quiet-{uuid.uuid4().hex[:6]}@%h"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", Queue.IO.value,
         "--pool", "threads", "--concurrency", "1", "--loglevel", "INFO", "--hostname", hostname],
        env=env, stdout=log_file.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    sender = create_celery_app(get_settings().model_copy(update={"redis_url": redis_url}))
    marks = redis.Redis.from_url(redis_url)
    task_id = f"spikes-{uuid.uuid4().hex[:8]}"
    try:
        # A spike-detection run clears this mark when it stops: the sign that the task has run.
        marks.set(redis_keys.SPIKES_RUN_SENT, 1, ex=60)
        route = SPIKE_DETECTION_ROUTE
        sender.send_task(route.task_name, args=[{}], task_id=task_id, queue=route.queue.value)
        wait_for_while_running(
            lambda: not marks.exists(redis_keys.SPIKES_RUN_SENT),
            f"task {task_id} run by the worker",
            running=lambda: worker.poll() is None,
            log=log_file.read_text,
        )
    finally:
        sender.close()
        marks.close()
        worker.terminate()
        worker.wait(30)

    log = log_file.read_text()
    assert " ready." in log  # the worker's own lines are there
    assert f"{task_id}] received" not in log and f"{task_id}] succeeded" not in log
