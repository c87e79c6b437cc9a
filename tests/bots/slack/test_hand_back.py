"""The handoff notice's "Hand back to the bot" button, clicked as Slack sends it: the conversation
goes back to the bot and the button gives way to who did it; a stale notice only tells the clicker."""

from __future__ import annotations

import uuid
from typing import Any

from core.slack import HANDOFF_RESUME_ACTION
from db.models import ConversationStatus, MessageRole
from tests.support.conversation_rows import UNKNOWN_CONVERSATION_ID, add_conversation, conversation_status
from tests.support.slack_fake import FakeSlack, SlackCall
from tests.support.slack_requests import SlackSender

ALERTS = "CALERTS"


def _notice(conversation_id: int) -> dict[str, Any]:
    """The handoff notice as Slack sends it back with a click (the worker's blocks, trimmed)."""
    text = f":raising_hand: A customer is waiting for a person: api conversation #{conversation_id}"
    return {
        "type": "message",
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "> I want to talk to a person"}},
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "action_id": HANDOFF_RESUME_ACTION, "value": str(conversation_id)}
                ],
            },
        ],
    }


def _click(slack: SlackSender, fake_slack: FakeSlack, conversation_id: int, user: str) -> SlackCall:
    url_name = uuid.uuid4().hex
    response = slack.click(
        HANDOFF_RESUME_ACTION,
        str(conversation_id),
        user=user,
        channel=ALERTS,
        response_url=fake_slack.response_url(url_name),
        message=_notice(conversation_id),
    )
    assert response.status_code == 200
    [answer] = fake_slack.wait_for(f"response:{url_name}")
    return answer


def test_hand_back_resumes_the_conversation_and_replaces_the_button_with_who_did_it(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    conversation_id = add_conversation(turns=((MessageRole.USER, "I want to talk to a person"),))

    updated = _click(slack, fake_slack, conversation_id, "UDANA")

    assert conversation_status(conversation_id) is ConversationStatus.OPEN
    assert updated.params["replace_original"] is True
    blocks = updated.params["blocks"]
    assert [block["type"] for block in blocks] == ["section", "section", "context"]
    assert blocks[:2] == _notice(conversation_id)["blocks"][:2]
    assert "handed back to the bot by <@UDANA>" in blocks[2]["elements"][0]["text"]


def test_a_second_click_changes_nothing_and_says_the_bot_already_has_it(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    conversation_id = add_conversation()
    _click(slack, fake_slack, conversation_id, "UDANA")

    again = _click(slack, fake_slack, conversation_id, "UERIN")

    assert conversation_status(conversation_id) is ConversationStatus.OPEN
    assert "already back with the bot" in again.params["blocks"][-1]["elements"][0]["text"]
    assert "<@UERIN>" in again.params["blocks"][-1]["elements"][0]["text"]


def test_a_click_for_an_unknown_conversation_answers_only_the_clicker_and_keeps_the_notice(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    answer = _click(slack, fake_slack, UNKNOWN_CONVERSATION_ID, "UDANA")

    assert answer.params["response_type"] == "ephemeral"
    assert answer.params["replace_original"] is False
    assert f"Conversation {UNKNOWN_CONVERSATION_ID} does not exist" in answer.params["text"]
    assert "blocks" not in answer.params
