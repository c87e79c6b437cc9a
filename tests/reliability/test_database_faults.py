"""A database that is locked longer than SQLite's busy timeout makes job tasks retry with backoff;
the job still ends done, once, when the lock is gone."""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid

import httpx
import pytest
from sqlalchemy.engine import make_url

from core.jobs import TASK_ROUTES, JobKind, JobSource
from core.settings import get_settings
from db.engine import SQLITE_BUSY_TIMEOUT_MS, session_scope
from db.models import Job
from tests.reliability.report import ReliabilityReport
from tests.support.stack_fixtures import wait_for_job
from workers.celery_app import celery_app

pytestmark = pytest.mark.usefixtures("celery_worker")

# Longer than the busy timeout, so the worker's claim fails with "database is locked" at least once.
LOCK_HELD_S = SQLITE_BUSY_TIMEOUT_MS / 1000 + 2


def test_a_job_whose_database_is_locked_is_retried_and_done_once_it_is_free(
    api: httpx.Client, caplog: pytest.LogCaptureFixture, reliability_report: ReliabilityReport
) -> None:
    job_id = str(uuid.uuid4())
    payload = {"prompt": "Rain later", "max_new_tokens": 2, "seed": 3}
    with session_scope() as session:
        session.add(Job(id=job_id, kind=JobKind.GENERATE, source=JobSource.API, input=payload))
    path = make_url(get_settings().sqlalchemy_url).database
    assert path
    with reliability_report.scenario("database locked") as row:
        # Counted lost until it is seen done, so a run that times out still reports it.
        row.jobs = row.lost = 1
        # Another process holding SQLite's write lock: the worker's claim waits out the busy timeout.
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            with caplog.at_level(logging.INFO, logger="celery"):
                celery_app.send_task(
                    TASK_ROUTES[JobKind.GENERATE].task_name,
                    args=[job_id],
                    queue=TASK_ROUTES[JobKind.GENERATE].queue.value,
                )
                time.sleep(LOCK_HELD_S)
                locker.execute("ROLLBACK")

                job = wait_for_job(api, job_id)
        finally:
            locker.close()

        messages = [record.getMessage() for record in caplog.records]
        retries = [m for m in messages if "Retry in" in m and "locked" in m]
        # The job runner logs "done" only when its conditional update stored the result.
        stored = [m for m in messages if m.startswith(f"job {job_id}: done")]
        row.lost = int(job["status"] != "done")
        row.errors = int(job["status"] == "failed")
        row.duplicated = max(0, len(stored) - 1)
        row.detail = (
            f"SQLite write lock held {LOCK_HELD_S:g} s (busy timeout {SQLITE_BUSY_TIMEOUT_MS / 1000:g} s); "
            f"claim retried {len(retries)} time(s); job {job['status']} after {job['attempts']} attempt(s), "
            f"result stored {len(stored)} time(s)"
        )

    assert job["status"] == "done" and job["attempts"] == 1
    assert retries, "the locked claim should have been retried, with the reason logged"
