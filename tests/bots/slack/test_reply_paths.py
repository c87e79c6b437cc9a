"""In Slack, a customer sees how each answer was made: an approved answer names its intent, a
generated one names the approved answers it was written from (handoff: tests/e2e/test_handoff.py)."""

from __future__ import annotations

import pytest

from tests.support.knowledge_fixtures import CANCEL_QUESTION, DELIVERY_QUESTION
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import SlackSender, mention

pytestmark = pytest.mark.usefixtures("celery_worker")


def _answer(slack: SlackSender, fake_slack: FakeSlack, channel: str, text: str) -> tuple[str, str]:
    slack.event(mention(channel, "UALICE", text))
    [answer] = fake_slack.wait_for("chat.update", channel=channel)
    return answer.params["text"], answer.params["blocks"][1]["elements"][0]["text"]


def test_a_mention_with_an_approved_answer_says_so_in_small_print(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    text, small_print = _answer(slack, fake_slack, channel, CANCEL_QUESTION)

    assert text.strip() and "{{" not in text
    assert small_print.startswith("approved answer (cancel_order) · intent-support ")


def test_a_generated_answer_shows_the_approved_answers_it_was_written_from(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    text, small_print = _answer(slack, fake_slack, channel, DELIVERY_QUESTION)

    assert text.strip()
    assert small_print.startswith("written by GPT-2 from the approved answers to: “")
    assert small_print.count("”") == 3
    assert " · replies " in small_print
