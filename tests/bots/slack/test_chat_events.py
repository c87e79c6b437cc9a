"""Chat through Slack events: mention or direct message -> placeholder in the thread -> the worker's
answer replaces it, with Slack's feedback buttons and the model only in a context block. Slack's delivery
rules: retries, forged requests, the bot's own messages, events nobody handles."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from bots.slack.listeners.chat import PLACEHOLDER_TEXT
from core.slack import FEEDBACK_ACTION
from db.engine import session_scope
from db.models import Conversation, Job, Message, SlackDelivery
from tests.support.slack_blocks import REPLY_IN_THREAD
from tests.support.slack_fake import BOT_ID, BOT_USER_ID, FakeSlack
from tests.support.slack_requests import SlackSender, channel_message, event_envelope, mention
from tests.support.waiting import ensure_not_for_a_while, wait_for

pytestmark = pytest.mark.usefixtures("celery_worker")


def _jobs_with_key(key: str) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Job).where(Job.idempotency_key == key)) or 0


def _jobs_in(channel: str) -> int:
    with session_scope() as session:
        return (
            session.scalar(
                select(func.count()).select_from(SlackDelivery).where(SlackDelivery.channel == channel)
            )
            or 0
        )


def test_mention_gets_a_placeholder_then_the_answer_in_its_thread(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    event = mention(channel, "UALICE", "I want to cancel my order")

    response = slack.event(event)

    assert response.status_code == 200
    [placeholder] = fake_slack.wait_for("chat.postMessage", channel=channel)
    assert placeholder.params["thread_ts"] == event["ts"]
    assert placeholder.params["text"] == PLACEHOLDER_TEXT
    [answer] = fake_slack.wait_for("chat.update", channel=channel)
    assert answer.params["ts"] == fake_slack.posted_ts(placeholder)
    blocks = answer.params["blocks"]
    assert [block["type"] for block in blocks] == REPLY_IN_THREAD
    assert answer.params["text"] == blocks[0]["text"]["text"]
    assert "intent-support" not in answer.params["text"]
    assert "intent-support" in blocks[1]["elements"][0]["text"]
    [votes] = blocks[2]["elements"]
    assert (votes["type"], votes["action_id"]) == ("feedback_buttons", FEEDBACK_ACTION)
    assert votes["positive_button"]["value"].startswith("up:")
    assert votes["negative_button"]["value"].startswith("down:")
    with session_scope() as session:
        conversation = session.scalar(
            select(Conversation).where(Conversation.external_id == f"{channel}:{event['ts']}")
        )
        assert conversation is not None
        texts = [m.text for m in session.scalars(select(Message).where(Message.conversation == conversation))]
    assert texts == ["I want to cancel my order", answer.params["text"]]


def test_replies_in_a_thread_continue_the_threads_conversation(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    first = mention(channel, "UALICE", "How do I get a refund?")
    slack.event(first)
    fake_slack.wait_for("chat.update", channel=channel)

    slack.event(mention(channel, "UALICE", "How long does it take?", thread_ts=first["ts"]))

    updates = fake_slack.wait_for("chat.update", count=2, channel=channel)
    assert len(updates) == 2
    with session_scope() as session:
        conversations = session.scalars(
            select(Conversation).where(Conversation.external_id.like(f"{channel}:%"))
        ).all()
        assert len(conversations) == 1
        assert len(conversations[0].messages) == 4


def test_direct_message_is_answered_in_its_thread(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    event = channel_message(channel, "UBOB", "where is my refund", channel_type="im")

    slack.event(event)

    [placeholder] = fake_slack.wait_for("chat.postMessage", channel=channel)
    assert placeholder.params["thread_ts"] == event["ts"]
    fake_slack.wait_for("chat.update", channel=channel)


def test_the_same_event_delivered_three_times_gets_one_reply(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    event = mention(channel, "UALICE", "I need to change my shipping address")

    responses = [
        slack.event(event, event_id="EvTHRICE0001"),
        slack.event(event, event_id="EvTHRICE0001", retry_num=1),
        slack.event(event, event_id="EvTHRICE0001", retry_num=2),
    ]

    assert [r.status_code for r in responses] == [200, 200, 200]
    fake_slack.wait_for("chat.update", channel=channel)
    # Room for a second reply job or answer, were one coming: fails as soon as one shows.
    ensure_not_for_a_while(
        lambda: (
            _jobs_with_key("slack-event:EvTHRICE0001"),
            len(fake_slack.calls_to("chat.update", channel=channel)),
        ),
        f"a second reply job or answer in {channel} (jobs, answers)",
        happened=lambda seen: seen != (1, 1),
        for_s=1.0,
    )
    assert _jobs_with_key("slack-event:EvTHRICE0001") == 1

    def placeholders_left() -> int:
        posted = fake_slack.calls_to("chat.postMessage", channel=channel)
        deleted = fake_slack.calls_to("chat.delete", channel=channel)
        return len(posted) - len(deleted)

    # Concurrent deliveries may each post a placeholder; all but the job's own are deleted again.
    wait_for(
        placeholders_left,
        f"every placeholder in {channel} but the job's own deleted",
        until=lambda left: left == 1,
        interval_s=0.05,
    )
    assert placeholders_left() == 1
    assert len(fake_slack.calls_to("chat.update", channel=channel)) == 1


def test_a_retry_is_answered_when_the_first_delivery_never_arrived(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    response = slack.event(mention(channel, "UALICE", "track my order"), event_id="EvONLYRETRY1", retry_num=1)

    assert response.status_code == 200
    fake_slack.wait_for("chat.update", channel=channel)
    assert _jobs_with_key("slack-event:EvONLYRETRY1") == 1


@pytest.mark.parametrize(
    ("timestamp", "forged_signature"),
    [(None, "v0=" + "0" * 64), (str(int(time.time()) - 6 * 60), None)],
    ids=["forged signature", "stale timestamp"],
)
def test_unsigned_or_stale_requests_get_401_and_enqueue_nothing(
    slack: SlackSender,
    fake_slack: FakeSlack,
    channel: str,
    timestamp: str | None,
    forged_signature: str | None,
) -> None:
    body = json.dumps(event_envelope(mention(channel, "UMALLORY", "cancel everything")))

    response = slack.post(body, "application/json", timestamp=timestamp, signature_override=forged_signature)

    assert response.status_code == 401
    ensure_not_for_a_while(
        lambda: (_jobs_in(channel), fake_slack.calls_to("chat.postMessage", channel=channel)),
        f"a reply job or a post in {channel} after a refused request (jobs, posts)",
        happened=lambda seen: seen != (0, []),
        for_s=0.5,
    )
    assert _jobs_in(channel) == 0
    assert fake_slack.calls_to("chat.postMessage", channel=channel) == []


def test_the_bot_ignores_its_own_messages_and_other_bots(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    own = channel_message(channel, BOT_USER_ID, "Here is your answer", channel_type="im") | {"bot_id": BOT_ID}
    other_bot = channel_message(channel, "UOTHERBOT", "beep", channel_type="im") | {"bot_id": "BOTHER"}

    responses = [slack.event(own), slack.event(other_bot)]

    assert [r.status_code for r in responses] == [200, 200]
    ensure_not_for_a_while(
        lambda: (fake_slack.calls_to("chat.postMessage", channel=channel), _jobs_in(channel)),
        f"a post or a reply job in {channel} for a bot's message (posts, jobs)",
        happened=lambda seen: seen != ([], 0),
        for_s=0.5,
    )
    assert fake_slack.calls_to("chat.postMessage", channel=channel) == []
    assert _jobs_in(channel) == 0


def test_events_nobody_handles_are_acknowledged_quietly(slack: SlackSender, channel: str) -> None:
    reaction = {"type": "reaction_added", "user": "UALICE", "reaction": "tada", "item": {"channel": channel}}
    edit = channel_message(channel, "UALICE", "edited") | {"subtype": "message_changed"}
    unmonitored = channel_message(channel, "UALICE", "just chatting")
    event_ids = ["EvREACTION01", "EvEDITED0001", "EvCHATTING01"]

    responses = [
        slack.event(event, event_id=event_id)
        for event, event_id in zip([reaction, edit, unmonitored], event_ids, strict=True)
    ]

    assert [r.status_code for r in responses] == [200, 200, 200]
    ensure_not_for_a_while(
        lambda: [_jobs_with_key(f"slack-event:{event_id}") for event_id in event_ids],
        f"a job for an event nobody handles (jobs per event {event_ids})",
        happened=lambda jobs: jobs != [0, 0, 0],
        for_s=0.3,
    )
    assert [_jobs_with_key(f"slack-event:{event_id}") for event_id in event_ids] == [0, 0, 0]
