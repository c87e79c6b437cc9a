"""The one place where requests become jobs: validate -> insert the job row -> enqueue.

The row is committed before the message is sent, so a job exists in the database before it exists
in Redis and a worker never receives a message for a row it cannot find. The job id is the Celery
task id.
"""

from __future__ import annotations

import logging
from uuid import uuid4

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.jobs import (
    PAYLOAD_SCHEMAS,
    TASK_ROUTES,
    JobKind,
    JobSource,
    JobStatus,
    ReplyPayload,
    SentimentPayload,
)
from core.slack import SlackTarget
from db import queries
from db.base import utcnow
from db.models import Conversation, Job, Message, MessageRole, SlackDelivery
from workers.celery_app import celery_app

log = logging.getLogger(__name__)


class JobRequestError(Exception):
    """The request cannot become a job; the message says why, for the client."""


class IdempotencyConflict(JobRequestError):
    pass


class ConversationNotFound(JobRequestError):
    pass


class EnqueueFailed(Exception):
    """The job row exists but its message could not be sent (the broker is unreachable)."""

    def __init__(self, job: Job, cause: Exception) -> None:
        super().__init__(f"job {job.id} was stored but could not be queued: {cause}")
        self.job = job


def submit_job(
    session: Session,
    kind: JobKind,
    payload: BaseModel,
    source: JobSource,
    *,
    idempotency_key: str | None = None,
    slack_target: SlackTarget | None = None,
) -> tuple[Job, bool]:
    """Store and enqueue a job; returns (job, created).

    With an idempotency key seen before, returns the first job and enqueues nothing. A Slack target
    is stored with the job, and the worker posts the result there when the job is finished.
    """
    if idempotency_key is not None:
        existing = _existing_job(session, kind, idempotency_key)
        if existing is not None:
            return existing, False
    job = _add_job(session, kind, payload, source, idempotency_key, slack_target)
    return _commit_and_enqueue(session, job)


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

    The message, the job, the link between them and the Slack target are committed together.
    """
    for attempt in (1, 2):
        if idempotency_key is not None:
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
    return _commit_and_enqueue(session, job)


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
    )
    session.add(job)
    if slack_target is not None:
        session.add(SlackDelivery(job_id=job.id, **slack_target.model_dump()))
    return job


def _commit_and_enqueue(session: Session, job: Job) -> tuple[Job, bool]:
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
    _enqueue(session, job)
    return job, True


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


def _enqueue(session: Session, job: Job) -> None:
    route = TASK_ROUTES[job.kind]
    try:
        celery_app.send_task(route.task_name, args=[job.id], task_id=job.id, queue=route.queue.value)
    except Exception as exc:
        # Say so on the row rather than leave a job that nobody will ever run.
        job.status = JobStatus.FAILED
        job.error = f"could not be queued: {type(exc).__name__}: {exc}"
        job.finished_at = utcnow()
        session.commit()
        log.error("job %s: enqueue failed: %s", job.id, exc)
        raise EnqueueFailed(job, exc) from exc
    log.info("job %s: queued %s on %s", job.id, job.kind.value, route.queue.value)
