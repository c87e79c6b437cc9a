"""A generated reply to a mention is streamed into its thread while its job runs, and the stored
reply, the text of record, replaces the streamed message at the end: one answer in the thread.

The reply job is held while the test watches: the test holds the turn of the thread's conversation,
as an earlier answer of the conversation still being written would (workers/replies/turns.py), so
the job is claimed (and its streamer started) but writes nothing until the test lets go. Meanwhile
the test adds text to the job's stream as the decoding loop does (core/job_text.py's contract).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from sqlalchemy import select

from bots.slack.listeners.chat import PLACEHOLDER_TEXT
from core import redis_keys
from core.job_text import piece_fields
from core.jobs import JobSource, JobStatus
from core.settings import get_settings
from db.engine import session_scope
from db.models import Conversation, DeliveryStatus, Job
from tests.support.knowledge_fixtures import DELIVERY_QUESTION
from tests.support.slack_deliveries import sent_delivery
from tests.support.slack_fake import TEAM_ID, FakeSlack
from tests.support.slack_requests import SlackSender, mention
from tests.support.waiting import wait_for
from workers.recovery.liveness import ensure_heartbeat, this_process
from workers.replies.turns import TOKEN_SEPARATOR

pytestmark = pytest.mark.usefixtures("celery_worker")

PREVIEW = ["Standard delivery", " takes three", " to five working days", "; express, one."]


@contextmanager
def _turn_held(channel: str, thread_ts: str) -> Iterator[None]:
    """The thread's conversation, busy with another answer (a live worker holds its turn)."""
    with session_scope() as session:
        conversation = Conversation(source=JobSource.SLACK, external_id=f"{channel}:{thread_ts}")
        session.add(conversation)
        session.flush()
        key = f"{redis_keys.CONVERSATION_TURN}{conversation.id}"
    ensure_heartbeat()
    token = f"{this_process()}{TOKEN_SEPARATOR}{uuid.uuid4().hex}"
    client = redis.Redis.from_url(get_settings().redis_url)
    client.set(key, token, ex=120)
    try:
        yield
    finally:
        if client.get(key) == token.encode():
            client.delete(key)


def _running_job(idempotency_key: str) -> str:
    def job() -> Job | None:
        with session_scope() as session:
            return session.scalar(select(Job).where(Job.idempotency_key == idempotency_key))

    found = wait_for(
        job,
        "the reply job claimed",
        until=lambda j: j is not None and j.status is JobStatus.RUNNING,
        interval_s=0.05,
    )
    assert found is not None
    return found.id


def test_a_generated_reply_is_streamed_into_its_thread_then_replaced_by_the_stored_reply(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    event = mention(channel, "UALICE", DELIVERY_QUESTION)
    event_id = f"Ev{uuid.uuid4().hex[:10].upper()}"
    client = redis.Redis.from_url(get_settings().redis_url)

    with _turn_held(channel, event["ts"]):
        slack.event(event, event_id=event_id)
        [placeholder] = fake_slack.wait_for("chat.postMessage", channel=channel)
        job_id = _running_job(f"slack-event:{event_id}")
        stream_key = redis_keys.job_text_stream(job_id)
        client.xadd(stream_key, piece_fields(0, PREVIEW[0]))
        fake_slack.wait_for("chat.startStream", channel=channel)
        for text in PREVIEW[1:]:
            client.xadd(stream_key, piece_fields(0, text))
            threading.Event().wait(0.3)
        fake_slack.wait_for("chat.appendStream", channel=channel)
        # The streamed message takes the placeholder's place in the thread.
        fake_slack.wait_for("chat.delete", channel=channel, ts=fake_slack.posted_ts(placeholder))

    answers = wait_for(
        lambda: [c for c in fake_slack.calls_to("chat.update", channel=channel) if c.params.get("blocks")],
        f"the answer in {channel}",
        until=lambda answers: len(answers) >= 1,
        interval_s=0.05,
    )
    delivery = sent_delivery(job_id)
    with session_scope() as session:
        job = session.get_one(Job, job_id)
    [stream] = fake_slack.streams_in(channel)
    [answer] = answers
    assert placeholder.params["text"] == PLACEHOLDER_TEXT
    # What was written while the job ran arrived in order, in one message in the thread, for Alice.
    assert (stream.thread_ts, stream.recipient) == (event["ts"], (TEAM_ID, "UALICE"))
    assert stream.chunks[0] == PREVIEW[0]
    assert stream.text == "".join(PREVIEW)
    assert stream.stopped
    # The reply the worker stored (not the preview) is the answer, in that same message, posted once.
    assert job.status is JobStatus.DONE
    assert (answer.params["ts"], answer.params["text"]) == (stream.ts, job.result["reply"])
    # The reply, its provenance, the votes, then the related articles (docs/recommendations.md).
    assert [block["type"] for block in answer.params["blocks"]][:3] == [
        "section",
        "context",
        "context_actions",
    ]
    assert answer.params["blocks"][-1]["block_id"].startswith("recommendations:")
    assert (delivery.status, delivery.message_ts) == (DeliveryStatus.SENT, stream.ts)
    assert len(fake_slack.calls_to("chat.postMessage", channel=channel)) == 1  # the placeholder only
