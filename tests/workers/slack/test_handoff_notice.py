"""The handoff notice in the alerts channel: a link to the customer's Slack thread (and the notice
still goes out when Slack will not give one), the API path for conversations outside Slack, and the
button that hands the conversation back to the bot."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import httpx
import pytest

from cli.redis_server import RedisServer
from core.jobs import JobSource
from core.slack import HANDOFF_RESUME_ACTION, conversation_resume_path
from db.models import ConversationStatus, MessageRole
from tests.support.conversation_rows import add_conversation, conversation_status
from tests.support.slack_fake import FakeSlack, SlackCall, permalink
from tests.support.waiting import wait_for
from workers.slack.client import RetryLater
from workers.slack.handoffs import post_handoff

ALERTS = "CALERTS"  # QUEUEBOT_SLACK_ALERTS_CHANNEL in tests/conftest.py
LAST_MESSAGE = "I want to talk to a person"


@pytest.fixture(autouse=True)
def _stack(redis_server: RedisServer, database: str) -> None:
    """post_handoff paces the channel and remembers sent notices in Redis, and reads the database."""


def _post_handoff(fake_slack: FakeSlack, conversation_id: int) -> SlackCall:
    """Post the notice as the io-queue task would, waiting out the alerts channel's pace; returns it."""

    def posted() -> bool:
        try:
            post_handoff(conversation_id, str(uuid.uuid4()))
        except RetryLater as wait:  # something posted to the alerts channel less than a second ago
            assert not wait.is_failure, wait
            time.sleep(wait.seconds)
            return False
        return True

    wait_for(posted, f"the handoff notice of conversation {conversation_id} posted")
    # The fake keeps every test's calls; the notice's button names its conversation.
    [notice] = [
        call
        for call in fake_slack.calls_to("chat.postMessage", channel=ALERTS)
        if any(
            element.get("value") == str(conversation_id)
            for block in call.params.get("blocks", [])
            if block["type"] == "actions"
            for element in block["elements"]
        )
    ]
    return notice


def _slack_conversation() -> tuple[int, str, str]:
    channel = f"C{uuid.uuid4().hex[:10].upper()}"
    thread_ts = f"{1_700_000_000 + uuid.uuid4().int % 10**6}.000200"
    conversation_id = add_conversation(
        source=JobSource.SLACK,
        external_id=f"{channel}:{thread_ts}",
        turns=((MessageRole.USER, LAST_MESSAGE),),
    )
    return conversation_id, channel, thread_ts


def _button(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    [actions] = [block for block in blocks if block["type"] == "actions"]
    [button] = actions["elements"]
    return dict(button)


def _contexts(blocks: list[dict[str, Any]]) -> list[str]:
    return [block["elements"][0]["text"] for block in blocks if block["type"] == "context"]


def test_a_slack_conversations_notice_links_to_the_customers_thread_and_offers_hand_back(
    fake_slack: FakeSlack,
) -> None:
    conversation_id, channel, thread_ts = _slack_conversation()

    notice = _post_handoff(fake_slack, conversation_id)

    [asked] = fake_slack.calls_to("chat.getPermalink", channel=channel)
    assert asked.params["message_ts"] == thread_ts  # the thread's first message opens the thread
    blocks = notice.params["blocks"]
    assert LAST_MESSAGE in blocks[1]["text"]["text"]
    assert _contexts(blocks) == [f"<{permalink(channel, thread_ts)}|Open the customer's Slack thread>"]
    button = _button(blocks)
    assert (button["action_id"], button["value"], button["text"]["text"]) == (
        HANDOFF_RESUME_ACTION,
        str(conversation_id),
        "Hand back to the bot",
    )


def test_when_slack_gives_no_permalink_the_notice_goes_out_without_it_and_a_warning_is_logged(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    conversation_id, channel, _ = _slack_conversation()
    fake_slack.fail_next("chat.getPermalink", 200, "message_not_found", channel=channel)

    with caplog.at_level(logging.WARNING, logger="workers.slack.handoffs"):
        notice = _post_handoff(fake_slack, conversation_id)

    blocks = notice.params["blocks"]
    assert _contexts(blocks) == []
    assert _button(blocks)["value"] == str(conversation_id)
    assert LAST_MESSAGE in blocks[1]["text"]["text"]
    assert any("message_not_found" in record.getMessage() for record in caplog.records)


def test_a_web_conversations_notice_names_the_api_path_that_really_hands_it_back(
    fake_slack: FakeSlack, api: httpx.Client
) -> None:
    conversation_id = add_conversation(source=JobSource.API, turns=((MessageRole.USER, LAST_MESSAGE),))
    asked_before = len(fake_slack.calls_to("chat.getPermalink"))

    notice = _post_handoff(fake_slack, conversation_id)

    assert len(fake_slack.calls_to("chat.getPermalink")) == asked_before  # no thread to link to
    [where] = _contexts(notice.params["blocks"])
    path = conversation_resume_path(conversation_id)
    assert f"#{conversation_id}" in where and f"`POST {path}`" in where
    assert _button(notice.params["blocks"])["value"] == str(conversation_id)
    assert api.post(path).status_code == 200
    assert conversation_status(conversation_id) is ConversationStatus.OPEN
