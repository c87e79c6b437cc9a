"""One conversation message at a time, in order (the idea of Rasa's lock store).

Reply jobs of different conversations run in parallel, but two messages of the same conversation
must not: the second reply is written against the first one's answer, and the answers must be
stored in the order the questions came. A job takes its conversation's Redis lock and, holding it,
checks that every earlier message of the conversation has a finished job; if one is still
queued or running it lets go, waits a moment and tries again.

The lock names the worker process holding it. A process that dies holding it (SIGKILL, out of
memory) stops beating (workers/recovery/liveness.py), and the next job of the conversation takes the lock
over instead of waiting for it to expire (after the task's hard time limit). A job that waits past
``wait_s`` for an earlier message goes ahead rather than stall the conversation behind a message
that was lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

from redis.exceptions import LockNotOwnedError
from redis.lock import Lock
from sqlalchemy import bindparam, func, select

from core import redis_keys
from core.jobs import ReplyPayload
from core.settings import get_settings
from db.engine import session_scope
from db.models import JOB_NOT_FINAL, Job, Message, MessageRole
from workers.recovery.liveness import alive, liveness_known, this_process
from workers.redis_client import redis_client

log = logging.getLogger(__name__)

RECHECK_S = 0.05
# How often a job waiting for the lock looks whether its holder is still alive.
HOLDER_CHECK_S = 1.0
TOKEN_SEPARATOR = "|"
DELETE_IF_EQUAL = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


@contextmanager
def conversation_turn(job_id: str, job_input: dict[str, Any], wait_s: float | None = None) -> Iterator[None]:
    """Hold the turn of the reply job's conversation (``job_input``: the job's stored input)."""
    payload = ReplyPayload.model_validate(job_input)
    conversation_id, message_id = payload.conversation_id, payload.message_id
    settings = get_settings()
    wait_s = settings.task_soft_time_limit_s if wait_s is None else wait_s
    lock = redis_client().lock(
        f"{redis_keys.CONVERSATION_TURN}{conversation_id}", timeout=settings.task_hard_time_limit_s
    )
    deadline = time.monotonic() + wait_s
    while True:
        if not _acquire(lock, deadline):
            raise TimeoutError(f"conversation {conversation_id} stayed busy for {wait_s:.0f} s")
        try:
            waiting_for = _earlier_unanswered(conversation_id, message_id)
        except BaseException:
            # The database failed (the task will be retried): a turn kept until it expires would hold up
            # the conversation's next messages, and this job's own retry, for the hard time limit.
            lock.release()
            raise
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


def _acquire(lock: Lock, deadline: float) -> bool:
    # The token says which process holds the lock; the random part tells two of its threads apart.
    token = f"{this_process()}{TOKEN_SEPARATOR}{uuid4().hex}"
    while True:
        slice_end = min(deadline, time.monotonic() + HOLDER_CHECK_S)
        if lock.acquire(blocking_timeout=max(slice_end - time.monotonic(), 0.001), token=token):
            return True
        if time.monotonic() >= deadline:
            return False
        _take_over_from_dead_holder(lock)


def _take_over_from_dead_holder(lock: Lock) -> None:
    client = redis_client()
    held_by = client.get(lock.name)
    if held_by is None:
        return
    holder = held_by.decode().split(TOKEN_SEPARATOR, 1)[0]
    if holder in alive({holder}) or not liveness_known():
        return
    # Only the token seen dead is deleted: a live job that took the lock meanwhile keeps it.
    if client.eval(DELETE_IF_EQUAL, 1, lock.name, held_by):
        log.warning("%s was held by %s, which stopped beating; the lock is taken over", lock.name, holder)


# Built once: every reply job runs it at least once.
_EARLIER_UNANSWERED = (
    select(func.count())
    .select_from(Message)
    .join(Job, Message.job_id == Job.id)
    .where(
        Message.conversation_id == bindparam("conversation_id"),
        Message.role == MessageRole.USER,
        Message.id < bindparam("message_id"),
        JOB_NOT_FINAL,
    )
)


def _earlier_unanswered(conversation_id: int, message_id: int) -> int:
    parameters = {"conversation_id": conversation_id, "message_id": message_id}
    with session_scope() as session:
        return session.execute(_EARLIER_UNANSWERED, parameters).scalar() or 0
