"""The gateway under concurrency: requests racing for the same new conversation or the same
idempotency key end in one conversation and one job per key, and none of them fails."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from bots.gateway import submit_chat_message, submit_job
from core.jobs import JobKind, JobSource, SentimentItem, SentimentPayload
from core.slack import SlackTarget
from db.engine import new_session, session_scope
from db.models import Conversation, MessageRole, SlackDelivery

pytestmark = pytest.mark.usefixtures("redis_server", "database")


def _submit(external_id: str, text: str, key: str | None) -> tuple[str, bool]:
    with new_session() as session:
        job, created = submit_chat_message(
            session, text, JobSource.SLACK, external_id=external_id, idempotency_key=key
        )
        return job.id, created


def test_messages_racing_into_a_new_thread_share_one_conversation() -> None:
    thread = f"C1:{uuid.uuid4().hex}"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: _submit(thread, f"message {i}", None), range(8)))

    assert len({job_id for job_id, _ in results}) == 8
    with session_scope() as session:
        [conversation] = session.scalars(select(Conversation).where(Conversation.external_id == thread)).all()
        # The worker may already have added its replies: count the customer's messages.
        assert sum(message.role is MessageRole.USER for message in conversation.messages) == 8


def test_retries_of_one_event_racing_each_other_make_one_job() -> None:
    thread, key = f"C1:{uuid.uuid4().hex}", f"slack-event:{uuid.uuid4().hex}"

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: _submit(thread, "hello", key), range(4)))

    assert len({job_id for job_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_a_slack_target_on_a_job_not_from_slack_is_refused_before_anything_is_stored() -> None:
    # The worker looks up a finished job's Slack deliveries only for jobs from Slack.
    payload = SentimentPayload(items=[SentimentItem(text="The refund never came")])
    target = SlackTarget(channel="CREFUSED", thread_ts="1700000000.000100")

    with new_session() as session, pytest.raises(ValueError, match="needs a job from Slack, not from api"):
        submit_job(session, JobKind.SENTIMENT, payload, JobSource.API, slack_target=target)

    with session_scope() as session:
        assert not session.scalars(select(SlackDelivery).where(SlackDelivery.channel == "CREFUSED")).all()
