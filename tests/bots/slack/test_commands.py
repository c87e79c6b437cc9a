"""Slash commands: acknowledged at once with the job id, the result posted to the response URL by
the delivery task (/generate's in a thread of the channel, where it can be streamed); /alerts and /job
answer from stored state; bad input gets a usage message."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from bots.slack.listeners.commands import ADHOC_SENTIMENT_TOPIC
from core.jobs import JobStatus
from db.engine import session_scope
from db.models import Job, SentimentObservation, SlackDelivery
from tests.support.alert_rows import add_alert
from tests.support.slack_blocks import REPLY_AT_RESPONSE_URL
from tests.support.slack_fake import FakeSlack, SlackCall
from tests.support.slack_requests import SlackSender, command_via_fake
from tests.support.waiting import wait_for

pytestmark = pytest.mark.usefixtures("celery_worker")


def _job_id_in(text: str) -> str:
    return text.split("`")[1]


def _stored_job(job_id: str) -> Job:
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_ask_acknowledges_with_the_job_then_posts_the_answer_to_the_response_url(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    response, url_name = command_via_fake(
        slack, fake_slack, "/ask", "How do I cancel my order?", channel=channel
    )

    assert response.status_code == 200
    ack = response.json()
    assert ack["response_type"] == "ephemeral"
    job_id = _job_id_in(ack["text"])
    [posted] = fake_slack.wait_for(f"response:{url_name}")
    assert posted.params["response_type"] == "ephemeral"
    assert posted.params["replace_original"] is False
    job = _stored_job(job_id)
    assert job.status is JobStatus.DONE
    assert posted.params["text"] == job.result["reply"]
    assert [block["type"] for block in posted.params["blocks"]] == REPLY_AT_RESPONSE_URL


def test_generate_passes_its_options_to_the_job_and_answers_in_a_thread_of_the_channel(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    response, url_name = command_via_fake(
        slack,
        fake_slack,
        "/generate",
        "The markets <!channel> opened max_tokens=12 temperature=0",
        channel=channel,
    )

    job_id = _job_id_in(response.json()["text"])
    assert "written in the thread" in response.json()["text"]
    job_input = _stored_job(job_id).input
    assert (job_input["prompt"], job_input["max_new_tokens"], job_input["temperature"]) == (
        "The markets <!channel> opened",
        12,
        0.0,
    )
    # The request in the channel (its markup escaped: no @channel), a placeholder in its thread.
    request, placeholder = fake_slack.wait_for("chat.postMessage", count=2, channel=channel)
    assert "thread_ts" not in request.params
    assert request.params["text"].endswith("continue: “The markets &lt;!channel&gt; opened”")
    assert placeholder.params["thread_ts"] == fake_slack.posted_ts(request)
    # The result replaces the placeholder, or the message it was streamed into.
    answer = _final_answer(fake_slack, channel)
    streams = fake_slack.streams_in(channel)
    assert answer.params["ts"] in [fake_slack.posted_ts(placeholder), *(s.ts for s in streams)]
    assert answer.params["text"] == _stored_job(job_id).result["texts"][0]
    assert [block["type"] for block in answer.params["blocks"]] == ["section", "context", "context_actions"]
    for stream in streams:  # streamed while the worker decoded: the chunks join to the stored text
        assert (stream.thread_ts, stream.text, stream.stopped) == (
            request.answer["ts"],
            answer.params["text"],
            True,
        )
    assert fake_slack.calls_to(f"response:{url_name}") == []


def test_generate_in_a_channel_the_bot_cannot_post_in_answers_at_the_response_url(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    fake_slack.fail_next("chat.postMessage", 200, "not_in_channel", channel=channel)

    response, url_name = command_via_fake(
        slack, fake_slack, "/generate", "The markets opened max_tokens=8 temperature=0", channel=channel
    )

    job_id = _job_id_in(response.json()["text"])
    [posted] = fake_slack.wait_for(f"response:{url_name}")
    assert posted.params["text"] == _stored_job(job_id).result["texts"][0]
    assert posted.params["response_type"] == "ephemeral"
    assert [block["type"] for block in posted.params["blocks"]] == ["section", "context", "actions"]
    assert len(fake_slack.calls_to("chat.postMessage", channel=channel)) == 1  # the refused request


def _final_answer(fake_slack: FakeSlack, channel: str) -> SlackCall:
    """The update that posted the answer of record (previews carry no blocks)."""
    fake_slack.wait_for("chat.update", channel=channel)
    answers = wait_for(
        lambda: [
            call for call in fake_slack.calls_to("chat.update", channel=channel) if call.params.get("blocks")
        ],
        f"the answer in {channel}",
        until=lambda answers: len(answers) >= 1,
        interval_s=0.05,
    )
    [answer] = answers
    return answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Once upon a time colour=blue", "Unknown option `colour`"),
        ("Once upon a time max_tokens=100000", "`max_new_tokens`: Input should be less than or equal to"),
        ("temperature=0.5", "Give me a prompt"),
    ],
)
def test_generate_with_bad_options_explains_and_starts_nothing(
    slack: SlackSender, fake_slack: FakeSlack, channel: str, text: str, expected: str
) -> None:
    response, url_name = command_via_fake(slack, fake_slack, "/generate", text, channel=channel)

    assert response.status_code == 200
    assert expected in response.json()["text"]
    assert "Usage: `/generate" in response.json()["text"]
    with session_scope() as session:
        assert session.scalars(select(SlackDelivery).where(SlackDelivery.channel == channel)).all() == []


def test_sentiment_classifies_now_under_its_own_topic(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    response, url_name = command_via_fake(
        slack, fake_slack, "/sentiment", "This is the worst service I have ever had", channel=channel
    )

    job_id = _job_id_in(response.json()["text"])
    [posted] = fake_slack.wait_for(f"response:{url_name}")
    job = _stored_job(job_id)
    label = job.result["items"][0]["label"]
    assert posted.params["text"].startswith(f"*{label}* (negative ")
    with session_scope() as session:
        observation = session.scalars(
            select(SentimentObservation).where(SentimentObservation.job_id == job_id)
        ).one()
    assert (observation.topic, observation.source) == (ADHOC_SENTIMENT_TOPIC, "slack")


def test_alerts_lists_recent_alerts_optionally_for_one_topic(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    topic = f"topic-{uuid.uuid4().hex[:8]}"
    add_alert(topic, value=0.71, evidence=[{"text": "awful"}])
    add_alert("elsewhere", value=0.5)

    response = slack.command(
        "/alerts", topic, channel=channel, user="UALICE", response_url=fake_slack.response_url("x")
    )

    body = response.json()
    assert body["text"].startswith(f"1 most recent of 1 alerts on *{topic}*")
    listing = body["blocks"][1]["text"]["text"]
    assert f"*{topic}* (open): negative_share 0.71 vs. baseline 0.20" in listing
    assert "elsewhere" not in listing
    none = slack.command("/alerts", "no-such-topic", channel=channel, user="UALICE", response_url="http://x/")
    assert none.json()["text"] == "No alerts on *no-such-topic*."


def test_job_shows_a_stored_jobs_status_and_result(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    started, url_name = command_via_fake(slack, fake_slack, "/ask", "I want a refund", channel=channel)
    job_id = _job_id_in(started.json()["text"])
    fake_slack.wait_for(f"response:{url_name}")

    response = slack.command("/job", job_id, channel=channel, user="UALICE", response_url="http://x/")

    body = response.json()
    assert body["text"] == f"Job `{job_id}` (reply): *done*"
    assert body["blocks"][1]["text"]["text"] == _stored_job(job_id).result["reply"]
    missing = slack.command("/job", "nope", channel=channel, user="UALICE", response_url="http://x/")
    assert missing.json()["text"] == "No job `nope`."


def test_queuebot_help_lists_every_command(slack: SlackSender, channel: str) -> None:
    response = slack.command("/queuebot", "help", channel=channel, user="UALICE", response_url="http://x/")

    text = response.json()["text"]
    for command in ("/ask", "/generate", "/imagine", "/sentiment", "/alerts", "/job", "/queuebot help"):
        assert f"`{command}" in text
