"""Log lines written while a job runs name the job (and the Celery task), in text and in JSON."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core.job_results import GenerateResult
from core.jobs import JobKind, JobSource
from core.logs import TEXT_FORMAT, use_format
from db.engine import session_scope
from db.models import Job
from tests.support.stack_fixtures import wait_for_job
from workers.job_runner import JobOutcome, run_job


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What is logged at INFO and up, as the JSON lines a worker with QUEUEBOT_LOG_FORMAT=json writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    use_format([handler], "json")
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)


def _stored_job() -> str:
    job_id = str(uuid.uuid4())
    with session_scope() as session:
        session.add(Job(id=job_id, kind=JobKind.GENERATE, source=JobSource.API, input={"n": 1}))
    return job_id


# run_job claims a job under this process's heartbeat, which lives in Redis: the tests that call it
# directly need the Redis server as much as the database.
@pytest.mark.usefixtures("redis_server")
def test_lines_logged_by_code_the_job_calls_carry_its_id_and_lines_after_it_do_not(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = _stored_job()
    service_log = logging.getLogger("tests.some_service")

    def work(_job_id: str, _input: dict[str, Any]) -> JobOutcome:
        # A service deep below the task, which is never told the job's id.
        service_log.info("thinking hard")
        return JobOutcome(
            result=GenerateResult(texts=["ok"], prompt_tokens_dropped=0),
            model_name="generator",
            model_version="v1",
        )

    with caplog.at_level(logging.INFO):
        run_job(job_id, work)
        service_log.info("after the job")

    by_message = {record.getMessage(): record for record in caplog.records}
    assert by_message["thinking hard"].job_id == job_id
    assert by_message[f"job {job_id}: done (generator v1)"].job_id == job_id
    assert by_message["after the job"].job_id is None


@pytest.mark.usefixtures("redis_server")
def test_the_text_format_puts_the_job_id_after_the_logger_name(database: str) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    use_format([handler], "text", TEXT_FORMAT)
    service_log = logging.getLogger("tests.text_service")
    service_log.addHandler(handler)
    service_log.setLevel(logging.INFO)
    job_id = _stored_job()

    def work(_job_id: str, _input: dict[str, Any]) -> JobOutcome:
        service_log.info("inside")
        return JobOutcome(
            result=GenerateResult(texts=[], prompt_tokens_dropped=0),
            model_name="generator",
            model_version="v1",
        )

    try:
        run_job(job_id, work)
        service_log.info("outside")
    finally:
        service_log.removeHandler(handler)

    inside, outside = stream.getvalue().splitlines()
    assert inside.endswith(f"INFO tests.text_service [job {job_id}]: inside")
    assert outside.endswith("INFO tests.text_service: outside")


@pytest.mark.usefixtures("celery_worker")
def test_jobs_run_by_the_worker_at_once_each_log_json_lines_with_their_own_job_and_task_id(
    api: httpx.Client, log_lines: io.StringIO
) -> None:
    ids = [
        api.post("/api/sentiment", json={"items": [{"text": f"message {n}"}]}).json()["id"] for n in range(3)
    ]
    for job_id in ids:
        assert wait_for_job(api, job_id)["status"] == "done"

    entries = [json.loads(line) for line in log_lines.getvalue().splitlines()]

    for job_id in ids:
        [done] = [entry for entry in entries if entry["message"].startswith(f"job {job_id}: done")]
        # The job id doubles as its Celery task id (bots/gateway.py).
        assert (done["job_id"], done["task_id"]) == (job_id, job_id)
        assert done["logger"] == "workers.job_runner" and done["level"] == "INFO"
        assert done["time"].endswith("+00:00")
    # No line names a job other than the one it is about.
    for entry in entries:
        if "job_id" in entry and entry["message"].startswith("job "):
            assert entry["message"].startswith(f"job {entry['job_id']}")
