"""The Slack streamer: a running generation's text streamed into its thread (chat.startStream, then
chat.appendStream at most once per interval), the stream stopped with the rest of the stored text and
the message turned into the answer of record by the delivery, once; where Slack refuses to stream,
throttled updates of the placeholder instead.

The test plays the generation worker, as tests/e2e/test_job_events.py does: it claims a job row as the
job runner does and calls the job-started hooks, adds the job's text to its Redis stream as
workers/text_stream.py does (core/job_text.py's contract), then stores the result and calls the
job-finished hooks. The streamer and the delivery run on the real worker; Slack is the local fake.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from sqlalchemy import update

import workers.tasks.slack  # noqa: F401  (registers the Slack hooks, as in every worker process)
from core import redis_keys
from core.job_text import RESET_FIELDS, piece_fields
from core.jobs import GeneratePayload, JobKind, JobSource, JobStatus
from core.settings import get_settings
from db.base import utcnow
from db.engine import session_scope
from db.models import Job, SlackDelivery
from tests.support.slack_deliveries import sent_delivery
from tests.support.slack_fake import TEAM_ID, FakeSlack, SlackCall, new_ts
from workers.job_runner import finished_hooks, started_hooks
from workers.recovery.liveness import this_process
from workers.slack.streaming import MORE_TO_COME

pytestmark = pytest.mark.usefixtures("celery_worker")

# Pieces come faster than the streamer may call Slack, so that its pace shows.
PIECE_GAP_S = 0.2
WORDS = [f" w{number}" for number in range(14)]


@dataclass(frozen=True)
class RunningGeneration:
    job_id: str
    channel: str
    thread_ts: str
    placeholder_ts: str


@pytest.fixture
def generation(channel: str) -> RunningGeneration:
    """A /generate job from Slack, claimed by "this worker", with its thread and placeholder."""
    job_id, thread_ts, placeholder_ts = str(uuid.uuid4()), new_ts(), new_ts()
    with session_scope() as session:
        session.add(
            Job(
                id=job_id,
                kind=JobKind.GENERATE,
                status=JobStatus.RUNNING,
                source=JobSource.SLACK,
                input=GeneratePayload(prompt="Count").model_dump(mode="json"),
                attempts=1,
                claimed_by=this_process(),
                started_at=utcnow(),
            )
        )
        session.add(
            SlackDelivery(
                job_id=job_id,
                channel=channel,
                thread_ts=thread_ts,
                placeholder_ts=placeholder_ts,
                user_id="UALICE",
            )
        )
    return RunningGeneration(job_id, channel, thread_ts, placeholder_ts)


def _redis() -> redis.Redis:
    return redis.Redis.from_url(get_settings().redis_url)


def _start(job_id: str) -> None:
    """What the job runner does once it has claimed the job."""
    with session_scope() as session:
        job = session.get_one(Job, job_id)
    for hook in started_hooks():
        hook(job)
    _redis().xadd(redis_keys.job_text_stream(job_id), RESET_FIELDS)


def _write(job_id: str, texts: list[str]) -> None:
    """The decoding loop's pieces, one every PIECE_GAP_S."""
    client = _redis()
    for text in texts:
        client.xadd(redis_keys.job_text_stream(job_id), piece_fields(0, text))
        threading.Event().wait(PIECE_GAP_S)


def _finish(job_id: str, text: str) -> None:
    """What the job runner does with the job's outcome: store it, announce it, call the hooks."""
    with session_scope() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status=JobStatus.DONE,
                result={"texts": [text], "prompt_tokens_dropped": 0},
                model_name="generator",
                model_version="test",
                finished_at=utcnow(),
            )
        )
    _redis().publish(redis_keys.job_events_channel(job_id), JobStatus.DONE.value)
    with session_scope() as session:
        job = session.get_one(Job, job_id)
    for hook in finished_hooks():
        hook(job)


def _answers(fake_slack: FakeSlack, channel: str) -> list[SlackCall]:
    """Updates that post an answer of record: previews carry no blocks."""
    return [call for call in fake_slack.calls_to("chat.update", channel=channel) if call.params.get("blocks")]


def _gaps(calls: list[SlackCall]) -> list[float]:
    return [later.at - earlier.at for earlier, later in zip(calls, calls[1:], strict=False)]


@pytest.fixture
def interval_s() -> Iterator[float]:
    yield get_settings().slack_stream_interval_s


def test_a_generation_is_streamed_in_order_and_ends_as_its_stored_text(
    fake_slack: FakeSlack, generation: RunningGeneration, interval_s: float
) -> None:
    job_id, channel = generation.job_id, generation.channel
    _start(job_id)

    _write(job_id, ["Counting:"])
    fake_slack.wait_for("chat.startStream", channel=channel)
    _write(job_id, WORDS)
    fake_slack.wait_for("chat.appendStream", channel=channel)
    stored = "Counting:" + "".join(WORDS) + " done."  # the stored text goes on from the streamed text
    _finish(job_id, stored)

    delivery = sent_delivery(job_id)
    [stream] = fake_slack.streams_in(channel)
    [answer] = _answers(fake_slack, channel)
    # One message in the thread, for Alice: its chunks in order, joining to the stored text.
    assert (stream.thread_ts, stream.recipient, stream.stopped) == (
        generation.thread_ts,
        (TEAM_ID, "UALICE"),
        True,
    )
    assert stream.chunks[0] == "Counting:"
    assert stream.text == stored
    assert (
        fake_slack.calls_to("chat.stopStream", channel=channel)[0].params["markdown_text"].endswith(" done.")
    )
    # Appends keep the pace: one per interval at most, the text decoded in between in one call.
    calls = fake_slack.calls_to("chat.startStream", channel=channel) + fake_slack.calls_to(
        "chat.appendStream", channel=channel
    )
    assert 2 <= len(calls) < 1 + len(WORDS)
    assert all(gap >= interval_s * 0.95 for gap in _gaps(calls)), _gaps(calls)
    # The streamed message replaced the placeholder and became the answer of record, posted once.
    assert [call.params["ts"] for call in fake_slack.calls_to("chat.delete", channel=channel)] == [
        generation.placeholder_ts
    ]
    assert (answer.params["ts"], answer.params["text"]) == (stream.ts, stored)
    assert [block["type"] for block in answer.params["blocks"]] == ["section", "context", "context_actions"]
    assert fake_slack.calls_to("chat.update", channel=channel) == [answer]
    assert fake_slack.calls_to("chat.postMessage", channel=channel) == []
    assert (delivery.placeholder_ts, delivery.message_ts, delivery.attempts) == (stream.ts, stream.ts, 0)
    # Every message asked for was stored, so the delivery had no orphan to look for.
    assert delivery.stream_requested_at is None
    assert fake_slack.calls_to("conversations.replies", channel=channel) == []


def test_a_stream_slack_started_though_its_answer_was_lost_is_deleted_before_the_answer(
    fake_slack: FakeSlack, generation: RunningGeneration
) -> None:
    # Slack starts the stream, but its answer never arrives: the streamer cannot know the message.
    job_id, channel = generation.job_id, generation.channel
    fake_slack.fail_next("chat.startStream", 500, "internal_error", channel=channel, carried_out=True)
    _start(job_id)
    _write(job_id, ["Counting:"])
    fake_slack.wait_for("chat.startStream", count=2, channel=channel)
    _write(job_id, WORDS[:3])
    stored = "Counting:" + "".join(WORDS[:3])
    _finish(job_id, stored)

    delivery = sent_delivery(job_id)
    lost, kept = fake_slack.streams_in(channel)
    [answer] = _answers(fake_slack, channel)
    assert lost.text == "Counting:"
    # The delivery found the unknown message in the thread and deleted it, then answered in the one
    # the streamer stored: one message in the thread, as without the lost answer.
    assert len(fake_slack.calls_to("conversations.replies", channel=channel, ts=generation.thread_ts)) == 1
    deleted = [call.params["ts"] for call in fake_slack.calls_to("chat.delete", channel=channel)]
    assert sorted(deleted) == sorted([generation.placeholder_ts, lost.ts])
    assert fake_slack.visible_messages(channel) == {generation.thread_ts: [kept.ts]}
    assert (answer.params["ts"], answer.params["text"]) == (kept.ts, stored)
    assert (delivery.message_ts, delivery.stream_requested_at) == (kept.ts, None)


def test_where_slack_refuses_to_stream_the_placeholder_is_updated_at_most_once_an_interval(
    fake_slack: FakeSlack, generation: RunningGeneration, interval_s: float
) -> None:
    job_id, channel = generation.job_id, generation.channel
    fake_slack.refuse_streaming(channel, "method_not_supported")
    _start(job_id)

    _write(job_id, ["Counting:", *WORDS])
    stored = "Counting:" + "".join(WORDS)
    _finish(job_id, stored)

    delivery = sent_delivery(job_id)
    [refused] = fake_slack.calls_to("chat.startStream", channel=channel)
    assert refused.answer == {"ok": False, "error": "method_not_supported"}
    assert fake_slack.streams_in(channel) == []
    updates = fake_slack.calls_to("chat.update", channel=channel)
    *previews, answer = updates
    assert _answers(fake_slack, channel) == [answer]
    # Each preview is the text so far, longer each time, in the placeholder, one per interval at most.
    assert len(previews) >= 2
    assert all(call.params["ts"] == generation.placeholder_ts for call in updates)
    texts = [call.params["text"].removesuffix(MORE_TO_COME) for call in previews]
    assert all(call.params["text"].endswith(MORE_TO_COME) for call in previews)
    assert all(stored.startswith(text) for text in texts)
    assert texts == sorted(texts, key=len) and len(set(texts)) == len(texts)
    assert all(gap >= interval_s * 0.95 for gap in _gaps(previews)), _gaps(previews)
    # The answer of record replaces the last preview, once; nothing else was posted or deleted.
    assert answer.params["text"] == stored
    assert [block["type"] for block in answer.params["blocks"]] == ["section", "context", "context_actions"]
    assert fake_slack.calls_to("chat.postMessage", channel=channel) == []
    assert fake_slack.calls_to("chat.delete", channel=channel) == []
    assert (delivery.message_ts, delivery.attempts) == (generation.placeholder_ts, 0)
    # A refused start made no message: nothing to look for in the thread.
    assert delivery.stream_requested_at is None
    assert fake_slack.calls_to("conversations.replies", channel=channel) == []


def test_a_stored_text_that_does_not_continue_the_stream_replaces_it(
    fake_slack: FakeSlack, generation: RunningGeneration
) -> None:
    # A job run again after its worker died: the new run's text voids the old one's.
    job_id, channel = generation.job_id, generation.channel
    _start(job_id)
    _write(job_id, ["First run"])
    fake_slack.wait_for("chat.startStream", channel=channel)
    _redis().xadd(redis_keys.job_text_stream(job_id), RESET_FIELDS)
    _write(job_id, ["Second run, all of it"])
    _finish(job_id, "Second run, all of it")

    sent_delivery(job_id)
    [stream] = fake_slack.streams_in(channel)
    [stop] = fake_slack.calls_to("chat.stopStream", channel=channel)
    [answer] = _answers(fake_slack, channel)
    # Streamed text cannot be taken back: the stream stops as it was, and the stored text replaces it.
    assert (stream.text, stream.stopped) == ("First run", True)
    assert "markdown_text" not in stop.params
    assert (answer.params["ts"], answer.params["text"]) == (stream.ts, "Second run, all of it")
