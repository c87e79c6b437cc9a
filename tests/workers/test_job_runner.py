"""run_job stores each outcome once: failures with their error, repeats not at all."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from core.job_results import GenerateResult
from core.jobs import JobKind, JobSource, JobStatus
from db.engine import session_scope
from db.models import Job
from workers.job_runner import JobOutcome, run_job


def _stored_job(status: JobStatus = JobStatus.QUEUED) -> str:
    job_id = str(uuid4())
    with session_scope() as session:
        session.add(
            Job(id=job_id, kind=JobKind.GENERATE, source=JobSource.API, input={"n": 1}, status=status)
        )
    return job_id


@pytest.fixture(autouse=True)
def _db(database: str, redis_server: object) -> None:
    # The runner beats and announces in Redis: without the server this file failed when run alone.
    pass


def test_work_that_raises_leaves_the_job_failed_with_the_error() -> None:
    job_id = _stored_job()

    def broken(_job_id: str, _input: dict[str, Any]) -> JobOutcome:
        raise RuntimeError("model exploded")

    with pytest.raises(RuntimeError):
        run_job(job_id, broken)

    with session_scope() as session:
        job = session.get_one(Job, job_id)
        assert job.status == JobStatus.FAILED
        assert job.error == "RuntimeError: model exploded"
        assert job.finished_at is not None


def test_work_sees_the_stored_input_and_its_result_is_stored_with_the_model() -> None:
    job_id = _stored_job()
    seen: list[dict[str, Any]] = []

    def work(_job_id: str, job_input: dict[str, Any]) -> JobOutcome:
        seen.append(job_input)
        return JobOutcome(
            result=GenerateResult(texts=["ok"], prompt_tokens_dropped=0),
            model_name="generator",
            model_version="v1",
        )

    run_job(job_id, work)

    assert seen == [{"n": 1}]
    with session_scope() as session:
        job = session.get_one(Job, job_id)
        assert (job.status, job.result, job.model_name, job.model_version) == (
            JobStatus.DONE,
            {"texts": ["ok"], "prompt_tokens_dropped": 0},
            "generator",
            "v1",
        )
        assert job.attempts == 1


@pytest.mark.parametrize("final", [JobStatus.DONE, JobStatus.FAILED])
def test_a_job_already_final_is_not_run_again(final: JobStatus) -> None:
    job_id = _stored_job(final)
    calls: list[str] = []

    run_job(job_id, lambda job_id, _input: calls.append(job_id))  # type: ignore[arg-type,return-value]

    assert calls == []
    with session_scope() as session:
        assert session.get_one(Job, job_id).attempts == 0


def test_a_message_for_a_job_that_does_not_exist_is_dropped_without_running() -> None:
    calls: list[str] = []

    run_job("no-such-job", lambda job_id, _input: calls.append(job_id))  # type: ignore[arg-type,return-value]

    assert calls == []
