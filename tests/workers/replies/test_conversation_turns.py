"""A conversation's turn lock held by a worker process that died is taken over as soon as the process
is known dead, not when the lock expires; one held by a live process is waited for; one taken when the
database fails is let go at once."""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

import pytest
from sqlalchemy.exc import OperationalError

from core import redis_keys
from core.jobs import JobKind, JobSource, ReplyPayload
from db.engine import session_scope
from db.models import Conversation, Job, Message, MessageRole
from tests.support.waiting import OUTCOME_TIMEOUT_S, wait_for
from workers.recovery.liveness import ensure_heartbeat, liveness_known, this_process
from workers.redis_client import redis_client
from workers.replies import turns
from workers.replies.turns import TOKEN_SEPARATOR, conversation_turn

# Far longer than the test waits: only a take-over can free the lock in time.
LOCK_TTL_S = 600


class ReplyJob(NamedTuple):
    id: str
    input: dict[str, Any]
    conversation_id: int


@pytest.fixture
def reply_job(redis_server: object, database: str) -> ReplyJob:
    with session_scope() as session:
        conversation = Conversation(source=JobSource.API)
        message = Message(conversation=conversation, role=MessageRole.USER, text="where is my parcel")
        session.add_all([conversation, message])
        session.flush()
        job_id = str(uuid.uuid4())
        payload = ReplyPayload(conversation_id=conversation.id, message_id=message.id, text=message.text)
        job_input = payload.model_dump(mode="json")
        session.add(Job(id=job_id, kind=JobKind.REPLY, source=JobSource.API, input=job_input))
        return ReplyJob(job_id, job_input, conversation.id)


def _hold_lock(conversation_id: int, process: str) -> None:
    token = f"{process}{TOKEN_SEPARATOR}{uuid.uuid4().hex}"
    redis_client().set(f"{redis_keys.CONVERSATION_TURN}{conversation_id}", token, ex=LOCK_TTL_S)


def _wait_for_liveness_to_be_known() -> None:
    wait_for(liveness_known, "Redis up for a whole liveness mark lifetime", interval_s=0.2)


def test_a_turn_held_by_a_dead_process_is_taken_over(reply_job: ReplyJob) -> None:
    job_id, job_input, conversation_id = reply_job
    _wait_for_liveness_to_be_known()
    _hold_lock(conversation_id, "gone-host:4242")

    with conversation_turn(job_id, job_input, wait_s=OUTCOME_TIMEOUT_S):
        held_by = redis_client().get(f"{redis_keys.CONVERSATION_TURN}{conversation_id}")

    assert held_by is not None and held_by.decode().startswith(this_process() + TOKEN_SEPARATOR)


def test_a_turn_held_by_a_live_process_is_waited_for(reply_job: ReplyJob) -> None:
    job_id, job_input, conversation_id = reply_job
    _wait_for_liveness_to_be_known()
    ensure_heartbeat()
    _hold_lock(conversation_id, this_process())

    with pytest.raises(TimeoutError, match="stayed busy"), conversation_turn(job_id, job_input, wait_s=2.5):
        pass


def test_a_turn_is_let_go_when_the_database_fails_under_it(
    reply_job: ReplyJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that fails right after the lock is taken (PostgreSQL restarting) must not leave the
    lock held until it expires: the task's retry, and the conversation's next messages, need it."""
    job_id, job_input, conversation_id = reply_job

    def database_down(conversation_id: int, message_id: int) -> int:
        raise OperationalError("SELECT count(*) ...", {}, Exception("server closed the connection"))

    monkeypatch.setattr(turns, "_earlier_unanswered", database_down)
    with pytest.raises(OperationalError), conversation_turn(job_id, job_input, wait_s=2.5):
        pass

    assert redis_client().get(f"{redis_keys.CONVERSATION_TURN}{conversation_id}") is None
