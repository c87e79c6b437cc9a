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
from tests.stack_fixtures import wait_for_job
from workers.celery_app import celery_app

pytestmark = pytest.mark.usefixtures("celery_worker")

# Longer than the busy timeout, so the worker's claim fails with "database is locked" at least once.
LOCK_HELD_S = SQLITE_BUSY_TIMEOUT_MS / 1000 + 2


def test_a_job_whose_database_is_locked_is_retried_and_done_once_it_is_free(
    api: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = str(uuid.uuid4())
    payload = {"prompt": "Rain later", "max_new_tokens": 2, "seed": 3}
    with session_scope() as session:
        session.add(Job(id=job_id, kind=JobKind.GENERATE, source=JobSource.API, input=payload))
    path = make_url(get_settings().sqlalchemy_url).database
    assert path
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

    assert job["status"] == "done" and job["attempts"] == 1
    retries = [r for r in caplog.records if "Retry in" in r.getMessage() and "locked" in r.getMessage()]
    assert retries, "the locked claim should have been retried, with the reason logged"
