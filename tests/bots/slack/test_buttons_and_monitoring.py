"""Feedback buttons (Slack's feedback_buttons under answers in threads, two buttons on ephemeral
answers) store one vote per person per answer and export as training data; Acknowledge and Resolve on
an alert; messages in monitored channels become sentiment observations under the channel's topic."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app as cli
from core.jobs import JobKind
from core.slack import (
    ALERT_ACKNOWLEDGE_ACTION,
    ALERT_RESOLVE_ACTION,
    FEEDBACK_ACTION,
    FEEDBACK_DOWN_ACTION,
    FEEDBACK_UP_ACTION,
    alert_buttons,
    feedback_vote,
)
from db.engine import session_scope
from db.models import Alert, AlertStatus, Feedback, Job, Rating, SentimentObservation
from tests.support.alert_rows import add_alert
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import SlackSender, channel_message, mention
from tests.support.waiting import wait_for

pytestmark = pytest.mark.usefixtures("celery_worker")


def _answered_job(slack: SlackSender, fake_slack: FakeSlack, channel: str, question: str) -> str:
    slack.event(mention(channel, "UALICE", question))
    [answer] = fake_slack.wait_for("chat.update", channel=channel)
    [votes] = answer.params["blocks"][2]["elements"]
    return feedback_vote(votes["positive_button"]["value"])[1]


def _votes(job_id: str) -> list[tuple[str, Rating]]:
    with session_scope() as session:
        votes = session.scalars(select(Feedback).where(Feedback.job_id == job_id))
        return [(vote.user_id, vote.rating) for vote in votes]


def test_slacks_feedback_buttons_store_one_vote_per_person_and_a_second_click_replaces_the_first(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    job_id = _answered_job(slack, fake_slack, channel, "I want to cancel my order")
    url = fake_slack.response_url(uuid.uuid4().hex)

    def vote(value: str, user: str) -> int:
        click = slack.click(
            FEEDBACK_ACTION,
            value,
            user=user,
            channel=channel,
            response_url=url,
            action_type="feedback_buttons",
        )
        return click.status_code

    statuses = [
        vote(f"up:{job_id}", "UALICE"),
        vote(f"down:{job_id}", "UBOB"),
        vote(f"down:{job_id}", "UALICE"),
    ]

    assert statuses == [200, 200, 200]
    thanks = fake_slack.wait_for(f"response:{url.rsplit('/', 1)[1]}", count=3)
    assert all(t.params["response_type"] == "ephemeral" for t in thanks)
    assert sorted(_votes(job_id)) == [("UALICE", Rating.DOWN), ("UBOB", Rating.DOWN)]
    with session_scope() as session:
        sources = {
            vote.source.value for vote in session.scalars(select(Feedback).where(Feedback.job_id == job_id))
        }
    assert sources == {"slack"}


def test_thumbs_are_stored_per_person_and_a_second_click_replaces_the_first(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    # The two plain buttons, as on ephemeral answers (and on answers posted before feedback_buttons).
    job_id = _answered_job(slack, fake_slack, channel, "I want to cancel my order")
    url = fake_slack.response_url(uuid.uuid4().hex)

    clicks = [
        slack.click(FEEDBACK_UP_ACTION, job_id, user="UALICE", channel=channel, response_url=url),
        slack.click(FEEDBACK_DOWN_ACTION, job_id, user="UBOB", channel=channel, response_url=url),
        slack.click(FEEDBACK_DOWN_ACTION, job_id, user="UALICE", channel=channel, response_url=url),
    ]

    assert [c.status_code for c in clicks] == [200, 200, 200]
    fake_slack.wait_for(f"response:{url.rsplit('/', 1)[1]}", count=3)
    assert sorted(_votes(job_id)) == [("UALICE", Rating.DOWN), ("UBOB", Rating.DOWN)]


def test_feedback_exports_as_question_answer_pairs(
    slack: SlackSender, fake_slack: FakeSlack, channel: str, tmp_path: Path
) -> None:
    job_id = _answered_job(slack, fake_slack, channel, "How do I get a refund?")
    url = fake_slack.response_url(uuid.uuid4().hex)
    slack.click(FEEDBACK_UP_ACTION, job_id, user="UCAROL", channel=channel, response_url=url)
    fake_slack.wait_for(f"response:{url.rsplit('/', 1)[1]}")
    out = tmp_path / "feedback.jsonl"

    result = CliRunner().invoke(cli, ["export", "feedback", "--out", str(out), "--rating", "up"])

    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    mine = [r for r in records if r["job_id"] == job_id]
    with session_scope() as session:
        job = session.get_one(Job, job_id)
    assert mine == [
        {
            "job_id": job_id,
            "kind": JobKind.REPLY.value,
            "input": "How do I get a refund?",
            "output": job.result["reply"],
            "path": job.result["path"],
            "rating": "up",
            "source": "slack",
            "user": "UCAROL",
            "model_name": job.model_name,
            "model_version": job.model_version,
            "rated_at": mine[0]["rated_at"],
        }
    ]
    assert all(r["rating"] == "up" for r in records)


def _click_alert_button(
    slack: SlackSender, fake_slack: FakeSlack, channel: str, action: str, alert_id: int, blocks: list
) -> list:
    """Click ``action`` on an alert message made of ``blocks``; the blocks Slack is told to show."""
    url_name = uuid.uuid4().hex
    response = slack.click(
        action,
        str(alert_id),
        user="UOPS",
        channel=channel,
        response_url=fake_slack.response_url(url_name),
        message={"type": "message", "text": "spike", "blocks": blocks},
    )
    assert response.status_code == 200
    [updated] = fake_slack.wait_for(f"response:{url_name}")
    assert updated.params["replace_original"] is True
    return list(updated.params["blocks"])


def _open_alert_message(alert_id: int) -> list:
    """The blocks of an open alert's message as it was posted: the spike, then its buttons."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": "spike"}}, alert_buttons(alert_id, "open")]


def _alert_status(alert_id: int) -> Alert:
    with session_scope() as session:
        alert = session.get_one(Alert, alert_id)
        session.expunge(alert)
        return alert


def test_acknowledge_then_resolve_move_the_alert_on_and_leave_only_the_buttons_that_still_apply(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    alert_id = add_alert(f"topic-{uuid.uuid4().hex[:6]}", value=0.8)
    posted = _open_alert_message(alert_id)

    acknowledged = _click_alert_button(slack, fake_slack, channel, ALERT_ACKNOWLEDGE_ACTION, alert_id, posted)

    assert [b["type"] for b in acknowledged] == ["section", "context", "actions"]
    assert "acknowledged by <@UOPS>" in acknowledged[1]["elements"][0]["text"]
    assert [e["action_id"] for e in acknowledged[2]["elements"]] == [ALERT_RESOLVE_ACTION]
    alert = _alert_status(alert_id)
    assert (alert.status, alert.acknowledged_by) == (AlertStatus.ACKNOWLEDGED, "slack user UOPS")
    assert alert.acknowledged_at is not None

    resolved = _click_alert_button(slack, fake_slack, channel, ALERT_RESOLVE_ACTION, alert_id, acknowledged)

    assert [b["type"] for b in resolved] == ["section", "context", "context"]
    assert "resolved by <@UOPS>" in resolved[2]["elements"][0]["text"]
    alert = _alert_status(alert_id)
    assert (alert.status, alert.resolved_by) == (AlertStatus.RESOLVED, "slack user UOPS")


def test_a_click_on_a_stale_button_of_a_resolved_alert_changes_nothing_and_says_so(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    alert_id = add_alert(f"topic-{uuid.uuid4().hex[:6]}", value=0.8)
    stale = _open_alert_message(alert_id)
    _click_alert_button(slack, fake_slack, channel, ALERT_RESOLVE_ACTION, alert_id, stale)

    again = _click_alert_button(slack, fake_slack, channel, ALERT_ACKNOWLEDGE_ACTION, alert_id, stale)

    assert [b["type"] for b in again] == ["section", "context"]
    assert "already resolved" in again[1]["elements"][0]["text"]
    alert = _alert_status(alert_id)
    assert (alert.status, alert.acknowledged_by) == (AlertStatus.RESOLVED, None)


def _observations(text: str) -> list[SentimentObservation]:
    with session_scope() as session:
        return list(session.scalars(select(SentimentObservation).where(SentimentObservation.text == text)))


@pytest.mark.parametrize(("channel_id", "topic"), [("CMONITORED", "billing"), ("CNOTOPIC", "CNOTOPIC")])
def test_messages_in_monitored_channels_become_observations_under_the_channels_topic(
    slack: SlackSender, channel_id: str, topic: str
) -> None:
    text = f"the new invoice layout is awful {uuid.uuid4().hex}"

    slack.event(channel_message(channel_id, "UALICE", text))

    [observation] = wait_for(lambda: _observations(text), f"an observation of {text!r}")
    assert (observation.topic, observation.source) == (topic, "slack")
    assert observation.model_name == "sentiment-general"


def test_a_mention_in_a_monitored_channel_is_answered_and_also_monitored(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    question = f"is there a refund for this? {uuid.uuid4().hex}"
    event = mention("CMONITORED", "UALICE", question)
    as_message = channel_message("CMONITORED", "UALICE", event["text"]) | {"ts": event["ts"]}

    slack.event(event)
    slack.event(as_message)

    fake_slack.wait_for("chat.update", channel="CMONITORED")
    wait_for(lambda: _observations(event["text"]), f"an observation of {event['text']!r}")
    # Monitored once (not once per event): one observation for the channel's topic, and one for
    # the keyword topic "refunds" the tests' settings define.
    assert sorted(o.topic for o in _observations(event["text"])) == ["billing", "refunds"]
