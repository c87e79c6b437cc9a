"""The one place where requests become jobs: validate -> insert the job row -> enqueue.

The row is committed before the message is sent, so a job exists in the database before it exists
in Redis and a worker never receives a message for a row it cannot find. The job id is the Celery
task id.

A job is accepted once its row is committed: the database, not Redis, is what is owed. While the
broker is down, requests are refused (:class:`QueueUnavailable`) before anything is stored, so the
caller knows to retry; a broker that fails between that check and the send leaves a queued row that
the sweeper sends later (workers/recovery/sweeper.py). Monitoring ingest, which has nobody to
tell, may store its jobs while the broker is down and leave them all to the sweeper.

Backpressure: a job is refused before anything is stored when too many of its kind are already
waiting for a worker (settings ``max_queued_<kind>``); the caller is told to retry later.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import uuid4

from pydantic import BaseModel
from redis.exceptions import RedisError
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bots.fail_fast_redis import fail_fast_redis
from bots.not_found import NotFound
from core.jobs import (
    PAYLOAD_SCHEMAS,
    JobKind,
    JobSource,
    JobStatus,
    ReplyPayload,
    SentimentPayload,
)
from core.settings import get_settings
from core.slack import SlackTarget
from db import queries
from db.base import utcnow
from db.models import Conversation, Job, Message, MessageRole, SlackDelivery
from workers.job_messages import send_job_message

log = logging.getLogger(__name__)


class JobRequestError(Exception):
    """The request cannot become a job; the message says why, for the client."""


class IdempotencyConflict(JobRequestError):
    pass


class ConversationNotFound(JobRequestError, NotFound):
    pass


class QueueFull(Exception):
    """Too many jobs of this kind are waiting for a worker; nothing was stored. Retry later."""

    def __init__(self, kind: JobKind, waiting: int, limit: int) -> None:
        super().__init__(f"{waiting} {kind.value} jobs are waiting for a worker (limit {limit}); retry later")
        self.kind = kind


class QueueUnavailable(Exception):
    """The broker cannot be reached; nothing was stored. Retry later."""


# Long enough for a loaded Redis to answer a PING; short enough that a request never hangs on one
# that is gone.
BROKER_CHECK_TIMEOUT_S = 1.0


def submit_job(
    session: Session,
    kind: JobKind,
    payload: BaseModel,
    source: JobSource,
    *,
    idempotency_key: str | None = None,
    slack_target: SlackTarget | None = None,
    accept_while_queue_down: bool = False,
) -> tuple[Job, bool]:
    """Store and enqueue a job; returns (job, created).

    With an idempotency key seen before, returns the first job and enqueues nothing. A Slack target
    is stored with the job, and the worker posts the result there when the job is finished. Raises
    :class:`QueueUnavailable` while the broker is down, unless ``accept_while_queue_down``: then the
    job is stored and the sweeper sends it once the broker is back.
    """
    if idempotency_key is not None:
        existing = _existing_job(session, kind, idempotency_key)
        if existing is not None:
            return existing, False
    if not accept_while_queue_down:
        _require_broker()
    with _admission(session, kind):
        job = _add_job(session, kind, payload, source, idempotency_key, slack_target)
        job, created = _commit(session, job)
    return _enqueue_if_created(job, created)


def submit_chat_message(
    session: Session,
    text: str,
    source: JobSource,
    *,
    conversation_id: int | None = None,
    external_id: str | None = None,
    idempotency_key: str | None = None,
    slack_target: SlackTarget | None = None,
) -> tuple[Job, bool]:
    """Record a customer's message in its conversation and start the reply job for it.

    The message, the job, the link between them and the Slack target are committed together; a
    refused message (:class:`QueueFull`, :class:`QueueUnavailable`) is not stored either.
    """
    if idempotency_key is not None:
        # A retry of an accepted message gets its job back even while the queue is full.
        existing = _existing_job(session, JobKind.REPLY, idempotency_key)
        if existing is not None:
            return existing, False
    _require_broker()
    with _admission(session, JobKind.REPLY):
        for attempt in (1, 2):
            if idempotency_key is not None and attempt == 2:
                existing = _existing_job(session, JobKind.REPLY, idempotency_key)
                if existing is not None:
                    return existing, False
            conversation = _conversation(session, source, conversation_id, external_id)
            conversation.updated_at = utcnow()
            message = Message(conversation=conversation, role=MessageRole.USER, text=text)
            session.add(message)
            try:
                session.flush()  # assigns the ids the payload names
                break
            except IntegrityError:
                # A concurrent request (a retry of the same Slack event, or another message in the
                # same new thread) created this conversation first; the second pass finds it.
                session.rollback()
                if attempt == 2:
                    raise
        payload = ReplyPayload(conversation_id=conversation.id, message_id=message.id, text=text)
        job = _add_job(session, JobKind.REPLY, payload, source, idempotency_key, slack_target)
        message.job_id = job.id
        job, created = _commit(session, job)
    return _enqueue_if_created(job, created)


# One admission per kind at a time in this process, from the count to the commit, so that requests
# racing each other cannot all see room for one more: the bound is exact within a process. Other
# processes that submit jobs (more web workers, the Socket Mode bot) can each be between their count
# and their commit, so together they may pass the bound by one job per extra process. The lock is
# taken before the request writes anything: SQLite has one writer, and a thread holding the write
# lock while waiting for this one would deadlock with the commit under it.
_admission_locks = {kind: threading.Lock() for kind in JobKind}
# Built once: every submitted job runs it.
_WAITING_OF_KIND = (
    select(func.count()).select_from(Job).where(Job.kind == bindparam("kind"), Job.status == JobStatus.QUEUED)
)


@contextmanager
def _admission(session: Session, kind: JobKind) -> Iterator[None]:
    """Raises QueueFull when too many jobs of ``kind`` are waiting; the block stores the new job.

    Waiting jobs are counted in the jobs table (status queued, on an index of kind and status), not
    in Redis: the batch queue holds sentiment, generation and knowledge-base work together, and
    messages a worker has reserved but not started are no longer in its list, though they wait.
    """
    limit = get_settings().max_queued(kind)
    if limit == 0:
        yield
        return
    with _admission_locks[kind]:
        waiting = session.execute(_WAITING_OF_KIND, {"kind": kind}).scalar()
        if waiting is not None and waiting >= limit:
            log.info("%s job refused: %d waiting (limit %d)", kind.value, waiting, limit)
            raise QueueFull(kind, waiting, limit)
        yield


def _add_job(
    session: Session,
    kind: JobKind,
    payload: BaseModel,
    source: JobSource,
    idempotency_key: str | None,
    slack_target: SlackTarget | None,
) -> Job:
    if not isinstance(payload, PAYLOAD_SCHEMAS[kind]):
        raise TypeError(f"a {kind.value} job needs a {PAYLOAD_SCHEMAS[kind].__name__}")
    if slack_target is not None and source is not JobSource.SLACK:
        # The worker looks for a finished job's Slack deliveries only when the job came from Slack.
        raise ValueError(f"a Slack target needs a job from Slack, not from {source.value}")
    now = utcnow()
    job = Job(
        id=str(uuid4()),
        kind=kind,
        status=JobStatus.QUEUED,
        source=source,
        input=payload.model_dump(mode="json"),
        idempotency_key=idempotency_key,
        events_from=payload.earliest_occurred_at(now) if isinstance(payload, SentimentPayload) else None,
        created_at=now,
        enqueued_at=now,
    )
    session.add(job)
    if slack_target is not None:
        session.add(SlackDelivery(job_id=job.id, **slack_target.model_dump()))
    return job


def _commit(session: Session, job: Job) -> tuple[Job, bool]:
    kind, idempotency_key = job.kind, job.idempotency_key
    try:
        session.commit()
    except IntegrityError:
        # Two requests with the same key raced and the other one committed first.
        session.rollback()
        existing = _existing_job(session, kind, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return existing, False
    return job, True


def _enqueue_if_created(job: Job, created: bool) -> tuple[Job, bool]:
    # Outside the admission lock: a broker that is down can take seconds to say so.
    if created:
        _enqueue(job)
    return job, created


def _conversation(
    session: Session, source: JobSource, conversation_id: int | None, external_id: str | None
) -> Conversation:
    if conversation_id is not None:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            raise ConversationNotFound(f"conversation {conversation_id} does not exist")
        return conversation
    if external_id is not None:
        found = session.scalar(
            select(Conversation).where(Conversation.source == source, Conversation.external_id == external_id)
        )
        if found is not None:
            return found
    conversation = Conversation(source=source, external_id=external_id)
    session.add(conversation)
    return conversation


def _existing_job(session: Session, kind: JobKind, idempotency_key: str) -> Job | None:
    existing = queries.get_job_by_idempotency_key(session, idempotency_key)
    if existing is not None and existing.kind != kind:
        raise IdempotencyConflict(
            f"idempotency key {idempotency_key!r} was already used for a {existing.kind.value} job"
        )
    return existing


def _require_broker() -> None:
    try:
        fail_fast_redis(get_settings().redis_url, BROKER_CHECK_TIMEOUT_S).ping()
    except RedisError as exc:
        log.warning("job refused: the broker is unreachable: %s", exc)
        raise QueueUnavailable("the job queue is unavailable; retry later") from exc


def _enqueue(job: Job) -> None:
    try:
        send_job_message(job.id, job.kind)
    except Exception as exc:
        # The job is stored, so it is accepted: the sweeper sends it once the broker is back.
        log.error("job %s: stored but not queued (%s); the sweeper will send it", job.id, exc)
        return
    log.info("job %s: queued %s", job.id, job.kind.value)
