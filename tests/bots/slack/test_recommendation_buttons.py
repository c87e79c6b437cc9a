"""Related articles in Slack: the reply's blocks end with one button per suggested article, and a
click (a signed request to the real bolt app) is logged with the Slack user who clicked and shows
them the article."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from core.slack_recommendations import RECOMMENDATION_ACTION_PREFIX, parse_click_value
from db.engine import session_scope
from db.models import RecommendationClick, RecommendationImpression
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import SlackSender, mention

pytestmark = pytest.mark.usefixtures("celery_worker")


def _answer_buttons(slack: SlackSender, fake_slack: FakeSlack, channel: str) -> list[dict]:
    slack.event(mention(channel, "UALICE", "I want to cancel my order"))
    [answer] = fake_slack.wait_for("chat.update", channel=channel)
    [articles] = [
        block for block in answer.params["blocks"] if block.get("block_id", "").startswith("recommendations:")
    ]
    return articles["elements"]


def test_a_slack_answer_shows_its_suggested_articles_as_buttons_in_ranked_order(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    buttons = _answer_buttons(slack, fake_slack, channel)

    impression_id = parse_click_value(buttons[0]["value"])[0]
    with session_scope() as session:
        impression = session.get_one(RecommendationImpression, impression_id)
        shown = impression.items
    assert [b["action_id"] for b in buttons] == [f"{RECOMMENDATION_ACTION_PREFIX}{n}" for n in (1, 2, 3)]
    assert [parse_click_value(b["value"]) for b in buttons] == [(impression_id, i["entry_id"]) for i in shown]
    # Titles on one line (Slack's buttons hold at most 75 characters).
    assert [b["text"]["text"] for b in buttons] == [" ".join(i["title"].split())[:75] for i in shown]


def test_a_click_on_a_slack_button_is_logged_with_the_slack_user_and_shows_the_article(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    third = _answer_buttons(slack, fake_slack, channel)[2]
    url = fake_slack.response_url(uuid.uuid4().hex)

    click = slack.click(third["action_id"], third["value"], user="UBOB", channel=channel, response_url=url)

    assert click.status_code == 200
    [shown] = fake_slack.wait_for(f"response:{url.rsplit('/', 1)[1]}")
    assert shown.params["response_type"] == "ephemeral"
    assert third["text"]["text"].rstrip("…") in shown.params["text"]
    impression_id, entry_id = parse_click_value(third["value"])
    with session_scope() as session:
        logged = session.scalars(
            select(RecommendationClick).where(RecommendationClick.impression_id == impression_id)
        ).all()
        assert [(c.entry_id, c.position, c.source.value, c.user_id) for c in logged] == [
            (entry_id, 3, "slack", "UBOB")
        ]


def test_a_button_naming_an_article_that_was_not_shown_logs_nothing_and_says_so(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    first = _answer_buttons(slack, fake_slack, channel)[0]
    impression_id, _ = parse_click_value(first["value"])
    url = fake_slack.response_url(uuid.uuid4().hex)

    click = slack.click(
        first["action_id"], f"{impression_id}:999999", user="UBOB", channel=channel, response_url=url
    )

    assert click.status_code == 200
    [warning] = fake_slack.wait_for(f"response:{url.rsplit('/', 1)[1]}")
    assert "can no longer be opened" in warning.params["text"]
    with session_scope() as session:
        assert not session.scalars(
            select(RecommendationClick).where(RecommendationClick.impression_id == impression_id)
        ).all()
