"""A database locked for longer than a writer waits (SQLite's busy timeout, PostgreSQL's lock_timeout)
makes job tasks retry with backoff; the job still ends done, once, when the lock is gone."""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.jobs import TASK_ROUTES, JobKind, JobSource
from core.settings import get_settings
from db.engine import SQLITE_BUSY_TIMEOUT_MS, engine_for, session_scope
from db.models import Job
from tests.reliability.report import ReliabilityReport
from tests.support.stack_fixtures import wait_for_job
from workers.celery_app import celery_app

pytestmark = pytest.mark.usefixtures("celery_worker")

# Held past the writer's wait, so the worker's claim fails with the lock's error at least once.
LOCK_HELD_BEYOND_TIMEOUT_S = 2.0


@contextmanager
def _database_locked() -> Iterator[tuple[str, float]]:
    """Another connection holds the jobs table against writers; yields what it holds and how long a
    writer waits for it before failing."""
    url = get_settings().sqlalchemy_url
    if make_url(url).get_backend_name() == "sqlite":
        path = make_url(url).database
        assert path
        # SQLite's write lock: the worker's claim waits out the busy timeout.
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            yield "SQLite write lock", SQLITE_BUSY_TIMEOUT_MS / 1000
            locker.execute("ROLLBACK")
        finally:
            locker.close()
        return
    # PostgreSQL: a lock on the jobs table; the claim's UPDATE fails after lock_timeout.
    with engine_for(url).connect() as connection, connection.begin() as transaction:
        connection.execute(text("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE"))
        yield "PostgreSQL lock on the jobs table", get_settings().database_lock_timeout_s
        transaction.rollback()


def test_a_job_whose_database_is_locked_is_retried_and_done_once_it_is_free(
    api: httpx.Client, caplog: pytest.LogCaptureFixture, reliability_report: ReliabilityReport
) -> None:
    job_id = str(uuid.uuid4())
    payload = {"prompt": "Rain later", "max_new_tokens": 2, "seed": 3}
    with session_scope() as session:
        session.add(Job(id=job_id, kind=JobKind.GENERATE, source=JobSource.API, input=payload))
    with reliability_report.scenario("database locked") as row:
        # Counted lost until it is seen done, so a run that times out still reports it.
        row.jobs = row.lost = 1
        with caplog.at_level(logging.INFO, logger="celery"):
            with _database_locked() as (lock, writer_wait_s):
                celery_app.send_task(
                    TASK_ROUTES[JobKind.GENERATE].task_name,
                    args=[job_id],
                    queue=TASK_ROUTES[JobKind.GENERATE].queue.value,
                )
                held_s = writer_wait_s + LOCK_HELD_BEYOND_TIMEOUT_S
                time.sleep(held_s)
            job = wait_for_job(api, job_id)

        messages = [record.getMessage() for record in caplog.records]
        # SQLite says "database is locked", PostgreSQL "canceling statement due to lock timeout".
        retries = [m for m in messages if "Retry in" in m and ("locked" in m or "lock timeout" in m)]
        # The job runner logs "done" only when its conditional update stored the result.
        stored = [m for m in messages if m.startswith(f"job {job_id}: done")]
        row.lost = int(job["status"] != "done")
        row.errors = int(job["status"] == "failed")
        row.duplicated = max(0, len(stored) - 1)
        row.detail = (
            f"{lock} held {held_s:g} s (writers wait {writer_wait_s:g} s); "
            f"claim retried {len(retries)} time(s); job {job['status']} after {job['attempts']} attempt(s), "
            f"result stored {len(stored)} time(s)"
        )

    assert job["status"] == "done" and job["attempts"] == 1
    assert retries, "the locked claim should have been retried, with the reason logged"
