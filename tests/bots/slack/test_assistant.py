"""Slack's assistant surface: a new thread gets suggested prompts; a question in the thread goes
through the customer-service pipeline with the thread's status "is thinking…" in place of a
placeholder and the first question as the thread's title; the answer is posted in the thread with
Slack's feedback buttons."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bots.slack.listeners.assistant import SUGGESTED_PROMPTS, THINKING_STATUS
from bots.slack.listeners.chat import PLACEHOLDER_TEXT
from core.jobs import JobSource
from db.engine import session_scope
from db.models import Conversation, Message
from tests.support.knowledge_fixtures import CANCEL_QUESTION
from tests.support.slack_blocks import REPLY_IN_THREAD
from tests.support.slack_fake import FakeSlack, new_ts
from tests.support.slack_requests import SlackSender, assistant_message, assistant_thread_started
from tests.support.waiting import ensure_not_for_a_while

pytestmark = pytest.mark.usefixtures("celery_worker")


def test_an_assistant_thread_gets_prompts_then_answers_with_a_status_a_title_and_feedback_buttons(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    thread_ts = new_ts()

    started = slack.event(assistant_thread_started(channel, "UALICE", thread_ts=thread_ts))

    assert started.status_code == 200
    [prompts] = fake_slack.wait_for("assistant.threads.setSuggestedPrompts", channel_id=channel)
    assert prompts.params["thread_ts"] == thread_ts
    assert prompts.params["prompts"] == SUGGESTED_PROMPTS

    slack.event(assistant_message(channel, "UALICE", CANCEL_QUESTION, thread_ts=thread_ts))

    [status] = fake_slack.wait_for("assistant.threads.setStatus", channel_id=channel)
    assert (status.params["thread_ts"], status.params["status"]) == (thread_ts, THINKING_STATUS)
    [title] = fake_slack.wait_for("assistant.threads.setTitle", channel_id=channel)
    assert (title.params["thread_ts"], title.params["title"]) == (thread_ts, CANCEL_QUESTION)
    # No placeholder: the answer is the thread's first message from the bot.
    [answer] = fake_slack.wait_for("chat.postMessage", channel=channel)
    assert answer.params["thread_ts"] == thread_ts
    assert answer.params["text"] != PLACEHOLDER_TEXT
    blocks = answer.params["blocks"]
    assert [block["type"] for block in blocks] == REPLY_IN_THREAD
    assert blocks[2]["elements"][0]["type"] == "feedback_buttons"
    with session_scope() as session:
        conversation = session.scalars(
            select(Conversation).where(
                Conversation.source == JobSource.SLACK, Conversation.external_id == f"{channel}:{thread_ts}"
            )
        ).one()
        texts = [m.text for m in session.scalars(select(Message).where(Message.conversation == conversation))]
    assert texts == [CANCEL_QUESTION, answer.params["text"]]

    # A follow-up in the same thread: thinking again, but the title stays the first question's.
    slack.event(assistant_message(channel, "UALICE", "and how long does a refund take?", thread_ts=thread_ts))

    fake_slack.wait_for("assistant.threads.setStatus", count=2, channel_id=channel)
    fake_slack.wait_for("chat.postMessage", count=2, channel=channel)
    ensure_not_for_a_while(
        lambda: len(fake_slack.calls_to("assistant.threads.setTitle", channel_id=channel)),
        f"a second title for the thread in {channel}",
        happened=lambda titles: titles != 1,
        for_s=0.3,
    )


def test_where_slack_refuses_a_status_the_placeholder_is_posted(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    # A reply in the thread of an ordinary direct message reaches the assistant's listener too.
    thread_ts = new_ts()
    fake_slack.fail_next("assistant.threads.setStatus", 200, "not_allowed")

    slack.event(assistant_message(channel, "UBOB", CANCEL_QUESTION, thread_ts=thread_ts))

    [placeholder] = fake_slack.wait_for("chat.postMessage", channel=channel)
    assert (placeholder.params["thread_ts"], placeholder.params["text"]) == (thread_ts, PLACEHOLDER_TEXT)
    [answer] = fake_slack.wait_for("chat.update", channel=channel)
    assert answer.params["ts"] == fake_slack.posted_ts(placeholder)
