"""One conversation message at a time, in order (the idea of Rasa's lock store).

Reply jobs of different conversations run in parallel, but two messages of the same conversation
must not: the second reply is written against the first one's answer, and the answers must be
stored in the order the questions came. A job takes its conversation's Redis lock and, holding it,
checks that every earlier message of the conversation has a finished job; if one is still
queued or running it lets go, waits a moment and tries again.

The lock expires on its own (after the task's hard time limit), so a worker that dies holding it
blocks its conversation for that long at most; a job that waits past ``wait_s`` goes ahead rather
than stall the conversation behind a message that was lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import LockNotOwnedError
from sqlalchemy import func, select

from core.jobs import JobStatus, ReplyPayload
from core.settings import get_settings
from db.engine import session_scope
from db.models import Job, Message, MessageRole
from workers.redis_client import redis_client

log = logging.getLogger(__name__)

LOCK_PREFIX = "queuebot:conversation-turn:"
RECHECK_S = 0.05


@contextmanager
def conversation_turn(job_id: str, wait_s: float | None = None) -> Iterator[None]:
    """Hold the turn of the reply job's conversation; a job without a readable row holds none."""
    turn = _turn_of(job_id)
    if turn is None:
        yield
        return
    conversation_id, message_id = turn
    settings = get_settings()
    wait_s = settings.task_soft_time_limit_s if wait_s is None else wait_s
    lock = redis_client().lock(f"{LOCK_PREFIX}{conversation_id}", timeout=settings.task_hard_time_limit_s)
    deadline = time.monotonic() + wait_s
    while True:
        if not lock.acquire(blocking_timeout=max(deadline - time.monotonic(), 0.001)):
            raise TimeoutError(f"conversation {conversation_id} stayed busy for {wait_s:.0f} s")
        waiting_for = _earlier_unanswered(conversation_id, message_id)
        if not waiting_for:
            break
        if time.monotonic() > deadline:
            log.warning(
                "job %s: %d earlier message(s) of conversation %d still unanswered after %.0f s; going ahead",
                job_id,
                waiting_for,
                conversation_id,
                wait_s,
            )
            break
        lock.release()
        time.sleep(RECHECK_S)
    try:
        yield
    finally:
        try:
            lock.release()
        except LockNotOwnedError:
            log.warning(
                "job %s: conversation %d's turn expired before the reply was stored", job_id, conversation_id
            )


def _turn_of(job_id: str) -> tuple[int, int] | None:
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            return None
        payload = ReplyPayload.model_validate(job.input)
    return payload.conversation_id, payload.message_id


def _earlier_unanswered(conversation_id: int, message_id: int) -> int:
    with session_scope() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Message)
                .join(Job, Message.job_id == Job.id)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.role == MessageRole.USER,
                    Message.id < message_id,
                    Job.status.not_in((JobStatus.DONE, JobStatus.FAILED)),
                )
            )
            or 0
        )
