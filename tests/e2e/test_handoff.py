"""Handoff to a person: asked for one, or no confident answer. The bot says so plainly, the
conversation waits for a person, and the Slack alerts channel is told once."""

from __future__ import annotations

import httpx
import pytest

from db.engine import session_scope
from db.models import Conversation, ConversationStatus
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import SlackSender, mention
from tests.support.stack_fixtures import wait_for_job
from tests.support.waiting import ensure_not_for_a_while, wait_for
from workers.replies.answer import HANDOFF_TEXT, WAITING_TEXT

pytestmark = pytest.mark.usefixtures("celery_worker")


def _status(conversation_id: int) -> ConversationStatus:
    with session_scope() as session:
        return session.get_one(Conversation, conversation_id).status


def _notices(fake_slack: FakeSlack, conversation_id: int) -> list[object]:
    return [
        call
        for call in fake_slack.calls_to("chat.postMessage", channel="CALERTS")
        if f"conversation #{conversation_id}" in call.params["text"]
    ]


def test_asking_for_a_person_hands_over_and_tells_the_alerts_channel_once(
    api: httpx.Client, fake_slack: FakeSlack
) -> None:
    accepted = api.post("/api/chat", json={"message": "I want to talk to a human agent"}).json()
    conversation_id = accepted["conversation_id"]

    job = wait_for_job(api, accepted["job"]["id"])

    assert (job["result"]["path"], job["result"]["handoff_reason"]) == ("handoff", "asked for a person")
    assert job["result"]["reply"] == HANDOFF_TEXT
    assert _status(conversation_id) is ConversationStatus.HANDOFF
    [notice] = wait_for(
        lambda: _notices(fake_slack, conversation_id), f"the handoff notice of conversation {conversation_id}"
    )
    assert "I want to talk to a human agent" in notice.params["blocks"][1]["text"]["text"]

    later = api.post("/api/chat", json={"message": "hello?", "conversation_id": conversation_id}).json()
    waiting = wait_for_job(api, later["job"]["id"])

    assert (waiting["result"]["reply"], waiting["result"]["handoff_reason"]) == (
        WAITING_TEXT,
        "waiting for a person",
    )
    # A second notice, were one coming, would be posted by then.
    ensure_not_for_a_while(
        lambda: len(_notices(fake_slack, conversation_id)),
        f"a second handoff notice of conversation {conversation_id}",
        happened=lambda notices: notices != 1,
        for_s=1.5,
    )


def test_a_question_nothing_in_the_knowledge_answers_is_handed_over(api: httpx.Client) -> None:
    accepted = api.post("/api/chat", json={"message": "what's the weather like on Mars?"}).json()

    job = wait_for_job(api, accepted["job"]["id"])

    assert (job["result"]["path"], job["result"]["handoff_reason"]) == ("handoff", "no confident answer")
    assert job["result"]["score"] < 0.45
    assert _status(accepted["conversation_id"]) is ConversationStatus.HANDOFF


def test_in_slack_the_thread_is_told_it_is_handed_over(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    slack.event(mention(channel, "UALICE", "can I speak with a real person please"))

    [answer] = fake_slack.wait_for("chat.update", channel=channel)

    assert answer.params["text"] == HANDOFF_TEXT


def test_a_conversation_handed_back_is_answered_by_the_bot_again(api: httpx.Client) -> None:
    accepted = api.post("/api/chat", json={"message": "I want to talk to a human agent"}).json()
    conversation_id = accepted["conversation_id"]
    assert wait_for_job(api, accepted["job"]["id"])["result"]["path"] == "handoff"

    resumed = api.post(f"/api/conversations/{conversation_id}/resume", json={"by": "dana"})

    assert resumed.status_code == 200 and resumed.json()["changed"] is True
    later = api.post(
        "/api/chat", json={"message": "I want to cancel my order", "conversation_id": conversation_id}
    ).json()
    result = wait_for_job(api, later["job"]["id"])["result"]
    assert result["path"] == "template"
    assert _status(conversation_id) is ConversationStatus.OPEN
