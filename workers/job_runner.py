"""How every task runs its job: claim the row, do the work, store the outcome exactly once.

Redis may deliver a message more than once (a crash, a visibility timeout), so each step is a
conditional update on the job row: a job that is already final is left alone, and of two deliveries
running at once only the first to finish stores its result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import Executable, bindparam, insert, update

from core import redis_keys
from core.job_results import JobResult
from core.jobs import JobStatus, TaskRoute
from core.logs import job_context
from core.settings import get_settings
from db.base import Base, utcnow
from db.engine import get_engine, session_scope
from db.models import JOB_NOT_FINAL, Job
from workers.celery_app import celery_app
from workers.metrics import observe_job_finished
from workers.recovery.liveness import alive, ensure_heartbeat, this_process
from workers.redis_client import redis_client
from workers.retries import DEPENDENCY_UNAVAILABLE

log = logging.getLogger(__name__)

# Called with a job's row whenever the job is final: stored by this run, or found final by a
# redelivery (the first run may have died before calling them). Other features send the work that
# follows a finished job from here (Slack delivery registers in workers/tasks/slack.py), so the
# runner knows none of them. A hook must therefore be safe to call more than once per job. The row is
# as the claim (or the redelivery) read it, detached: its input, kind and source, not the outcome.
JobFinishedHook = Callable[[Job], None]
_finished_hooks: list[JobFinishedHook] = []


def on_job_finished(hook: JobFinishedHook) -> JobFinishedHook:
    if hook not in _finished_hooks:
        _finished_hooks.append(hook)
    return hook


def finished_hooks() -> tuple[JobFinishedHook, ...]:
    return tuple(_finished_hooks)


def _finished(job: Job) -> None:
    for hook in _finished_hooks:
        hook(job)


# Called with the job's row once this run has claimed it, before its work: features start what follows
# a running job from here (the Slack streamer registers in workers/tasks/slack.py). What they start is
# optional to the job, so a hook that fails is logged and the job runs on.
JobStartedHook = Callable[[Job], None]
_started_hooks: list[JobStartedHook] = []


def on_job_started(hook: JobStartedHook) -> JobStartedHook:
    if hook not in _started_hooks:
        _started_hooks.append(hook)
    return hook


def started_hooks() -> tuple[JobStartedHook, ...]:
    return tuple(_started_hooks)


def _started(job: Job) -> None:
    for hook in _started_hooks:
        try:
            hook(job)
        except Exception:
            log.warning("job %s: a job-started hook failed; the job runs on", job.id, exc_info=True)


ERROR_TEXT_LIMIT = 2_000

# Every job, however small, is claimed and stored by the two statements below, so they are built once
# and run in Core: built per call through the ORM, they cost the worker far more (statement
# construction, its cache key, the ORM's bulk-update machinery; measured in docs/benchmarks.md), on
# the path that limits how many one-text jobs a worker serves per second.
_jobs = Job.__table__
_CLAIM = (
    update(_jobs)
    .where(_jobs.c.id == bindparam("job_id"), JOB_NOT_FINAL, _jobs.c.attempts < bindparam("max_attempts"))
    .values(
        status=JobStatus.RUNNING,
        started_at=bindparam("claimed_at"),
        attempts=_jobs.c.attempts + 1,
        claimed_by=bindparam("claimed_in"),
    )
    # One statement that claims and returns the row (RETURNING, in SQLite and PostgreSQL alike), not
    # an update and a select.
    .returning(*_jobs.c)
)
_STORE_DONE = (
    update(_jobs)
    .where(_jobs.c.id == bindparam("job_id"), JOB_NOT_FINAL)
    .values(
        status=JobStatus.DONE,
        result=bindparam("stored_result"),
        error=None,
        model_name=bindparam("stored_model_name"),
        model_version=bindparam("stored_model_version"),
        finished_at=bindparam("stored_at"),
    )
)


@dataclass
class JobOutcome:
    result: JobResult
    model_name: str
    model_version: str
    # Rows written in the same transaction that marks the job done (bot messages, images).
    rows: list[Base] = field(default_factory=list)
    # Many rows of one table, as column values: written there too, by one executemany without an ORM
    # object per row (a batch's observations, one per item and topic), which is most of a large
    # job's storing cost (docs/benchmarks.md).
    row_values: list[tuple[type[Base], list[dict[str, Any]]]] = field(default_factory=list)
    # Statements run in that transaction too (a conversation handed over to a person).
    updates: list[Executable] = field(default_factory=list)
    # Tasks sent once the outcome is stored: (route, args).
    follow_ups: list[tuple[TaskRoute, list[Any]]] = field(default_factory=list)
    # Called once the outcome is stored, by the run that stored it: work that follows the job but may
    # merge with other jobs' (spike detection notes its topics and sends a run only if none is sent).
    after_stored: list[Callable[[], None]] = field(default_factory=list)


# A job's work: (job id, stored input) -> outcome. It runs outside any write transaction, so a long
# forward pass never holds the database lock that the web process needs to accept new jobs.
JobWork = Callable[[str, dict[str, Any]], JobOutcome]


# Holds what the work and the storing of its outcome must run inside, for (job id, stored input): a
# reply's conversation turn. Entered after the claim, so a job waiting for its turn is seen running in
# a live process, not as a message nobody started.
JobTurn = Callable[[str, dict[str, Any]], AbstractContextManager[object]]


def run_job(job_id: str, work: JobWork, *, turn: JobTurn | None = None) -> None:
    # Every line logged while the job runs, in this module or any code it calls, names the job.
    with job_context(job_id):
        _run(job_id, work, turn)


def _run(job_id: str, work: JobWork, turn: JobTurn | None) -> None:
    job = _claim(job_id)
    if job is None:
        return
    _announce(job_id, JobStatus.RUNNING)
    _started(job)
    try:
        with turn(job_id, job.input) if turn is not None else nullcontext():
            outcome = work(job_id, job.input)
            finished_at = _finish(job_id, outcome)
    except DEPENDENCY_UNAVAILABLE:
        # The database or Redis is down: not the job's fault. The task is retried (workers/retries.py)
        # and the job, still unfinished, is claimed and run again. It goes back to the queue first,
        # so that if the retry cannot reach the broker either, the sweeper sends it.
        _release(job_id)
        raise
    except Exception as exc:
        # Soft time limits arrive here too (SoftTimeLimitExceeded is an Exception).
        failed_at = _fail(job_id, exc)
        if failed_at is not None:
            _announce(job_id, JobStatus.FAILED)
            _observe(job, JobStatus.FAILED, failed_at)
        _finished(job)
        raise
    if finished_at is not None:
        _announce(job_id, JobStatus.DONE)
        _observe(job, JobStatus.DONE, finished_at)
        for route, args in outcome.follow_ups:
            celery_app.send_task(route.task_name, args=args, queue=route.queue.value)
        for then in outcome.after_stored:
            then()
    _finished(job)


def _announce(job_id: str, status: JobStatus) -> None:
    """Wake whoever follows the job (the web page's event streams). After the commit, so a follower
    that reads the row sees the change; a failed announcement only delays it (followers reread)."""
    try:
        redis_client().publish(redis_keys.job_events_channel(job_id), status.value)
    except RedisError as exc:
        log.warning("job %s: could not announce %s: %s", job_id, status.value, exc)


def _observe(job: Job, status: JobStatus, finished_at: datetime) -> None:
    # Only the delivery that stored the final state counts the job, so a redelivery never counts twice.
    assert job.started_at is not None  # set by the claim
    observe_job_finished(job.kind, status, job.created_at, job.started_at, finished_at)


def _claim(job_id: str) -> Job | None:
    """Mark the job running in this process and return its row, or None when there is nothing to do."""
    ensure_heartbeat()
    parameters = {
        "job_id": job_id,
        "max_attempts": get_settings().job_max_attempts,
        "claimed_at": utcnow(),
        "claimed_in": this_process(),
    }
    with get_engine().begin() as connection:
        claimed = connection.execute(_CLAIM, parameters).one_or_none()
    if claimed is not None:
        # A row object of its own, in no session: what the hooks and the job's work read.
        return Job(**claimed._mapping)
    with session_scope() as session:
        job = session.get(Job, job_id)
    if job is None:
        # Rows are written before their messages are sent, so this is a message from another
        # database (a stale queue); there is no row to store a failure in.
        log.error("job %s: no such job row; message dropped", job_id)
    elif job.status.is_final:
        log.info("job %s: already %s; redelivery ignored", job_id, job.status.value)
        # The first run may have died between storing the result and sending its deliveries.
        _finished(job)
    elif _earlier_run_is_over(job):
        _give_up(job)
    else:
        log.info("job %s: running in %s; this delivery is ignored", job_id, job.claimed_by)
    return None


def _earlier_run_is_over(job: Job) -> bool:
    # Queued again by the sweeper, or claimed by a process that died (a prefork child killed by the
    # hard time limit or the OOM killer, whose message Celery gives back at once), or by this very
    # process (the task is being retried after its run ended).
    if job.status is JobStatus.QUEUED or job.claimed_by is None or job.claimed_by == this_process():
        return True
    return not alive({job.claimed_by})


def _give_up(job: Job) -> None:
    """The job's runs all ended without storing anything; fail it rather than let it kill more workers."""
    error = f"gave up after {job.attempts} runs that ended without a result (the worker died or was killed)"
    failed_at = _fail(job.id, RuntimeError(error))
    if failed_at is not None:
        _announce(job.id, JobStatus.FAILED)
        _observe(job, JobStatus.FAILED, failed_at)
    _finished(job)


def _release(job_id: str) -> None:
    try:
        with session_scope() as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.claimed_by == this_process())
                .values(status=JobStatus.QUEUED, claimed_by=None, enqueued_at=utcnow())
            )
    except DEPENDENCY_UNAVAILABLE as exc:
        # The database is what is down: the job stays running here, and the sweeper re-queues it once
        # its run has outlasted the hard time limit.
        log.warning("job %s: could not be put back in the queue: %s", job_id, exc)


def _finish(job_id: str, outcome: JobOutcome) -> datetime | None:
    """Store the outcome unless another delivery of the job already did; returns when it was stored,
    or None when it was not."""
    finished_at = utcnow()
    parameters = {
        "job_id": job_id,
        "stored_result": outcome.result.stored(),
        "stored_model_name": outcome.model_name,
        "stored_model_version": outcome.model_version,
        "stored_at": finished_at,
    }
    with session_scope() as session:
        connection = session.connection()
        stored = connection.execute(_STORE_DONE, parameters).rowcount
        if not stored:
            log.info("job %s: finished by another delivery; this result is discarded", job_id)
            return None
        session.add_all(outcome.rows)
        for model, values in outcome.row_values:
            if values:
                # The table, not the class: Core's executemany, without the ORM's bulk-insert layer.
                connection.execute(insert(model.__table__), values)
        for statement in outcome.updates:
            session.execute(statement)
    log.info("job %s: done (%s %s)", job_id, outcome.model_name, outcome.model_version)
    return finished_at


def _fail(job_id: str, exc: BaseException) -> datetime | None:
    """Store the failure unless the job is already final; returns when it was stored, or None."""
    error = f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT]
    failed_at = utcnow()
    with session_scope() as session:
        stored = session.execute(
            update(Job)
            .where(Job.id == job_id, JOB_NOT_FINAL)
            .values(status=JobStatus.FAILED, error=error, finished_at=failed_at)
        ).rowcount
    log.error("job %s: failed: %s", job_id, error)
    return failed_at if stored else None
