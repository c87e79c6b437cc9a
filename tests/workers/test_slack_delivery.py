"""The io-queue tasks that post to Slack: one post per job, Slack's pace per channel, rate limits and
transient errors retried, errors no retry can fix recorded; alerts posted once to the alerts channel."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import select

from core.jobs import SLACK_ALERT_ROUTE
from core.settings import get_settings
from core.slack import ALERT_ACKNOWLEDGE_ACTION
from db.engine import session_scope
from db.models import Alert, DeliveryStatus, SlackDelivery
from tests.bots.slack.test_commands import add_alert
from tests.slack_fake import FakeSlack
from tests.slack_requests import SlackSender, mention
from workers.celery_app import celery_app

pytestmark = pytest.mark.usefixtures("celery_worker")


def _delivery(channel: str, timeout_s: float = 30) -> SlackDelivery:
    """The channel's delivery once it is no longer pending."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with session_scope() as session:
            delivery = session.scalar(select(SlackDelivery).where(SlackDelivery.channel == channel))
        if delivery is not None and delivery.status is not DeliveryStatus.PENDING:
            return delivery
        time.sleep(0.05)
    raise TimeoutError(f"delivery to {channel} still pending after {timeout_s} s")


def test_answers_to_one_channel_keep_slacks_pace(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    for question in ("I want to cancel my order", "How do I get a refund?", "Where is my package?"):
        slack.event(mention(channel, "UALICE", question))

    updates = fake_slack.wait_for("chat.update", count=3, channel=channel)

    gaps = [later.at - earlier.at for earlier, later in zip(updates, updates[1:], strict=False)]
    interval = get_settings().slack_channel_interval_s
    assert all(gap >= interval * 0.95 for gap in gaps), gaps


def test_a_rate_limited_post_waits_for_retry_after_and_is_not_counted_as_a_failure(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    fake_slack.fail_next("chat.update", 429, "ratelimited", channel=channel, retry_after=2)

    slack.event(mention(channel, "UALICE", "track my order"))

    limited, posted = fake_slack.wait_for("chat.update", count=2, channel=channel)
    assert limited.answer == {"ok": False, "error": "ratelimited"}
    assert posted.at - limited.at >= 1.9
    delivery = _delivery(channel)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 0)


def test_a_transient_slack_error_is_retried_and_counted(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    fake_slack.fail_next("chat.update", 500, "internal_error", channel=channel)

    slack.event(mention(channel, "UALICE", "track my order"))

    fake_slack.wait_for("chat.update", count=2, channel=channel)
    delivery = _delivery(channel)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)


def test_an_error_no_retry_can_fix_fails_the_delivery_at_once(
    slack: SlackSender, fake_slack: FakeSlack, channel: str
) -> None:
    fake_slack.fail_next("chat.update", 200, "channel_not_found", channel=channel)

    slack.event(mention(channel, "UALICE", "track my order"))

    delivery = _delivery(channel)
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.error == "Slack refused the post: channel_not_found"
    time.sleep(1.5)
    assert len(fake_slack.calls_to("chat.update", channel=channel)) == 1


def test_an_alert_is_posted_once_to_the_alerts_channel_with_an_acknowledge_button(
    fake_slack: FakeSlack,
) -> None:
    topic = f"topic-{uuid.uuid4().hex[:6]}"
    alert_id = add_alert(topic, value=0.75, evidence=[{"text": "The app lost my booking again"}])

    for _ in range(2):  # a second delivery of the task must not post again
        celery_app.send_task(SLACK_ALERT_ROUTE.task_name, args=[alert_id], queue=SLACK_ALERT_ROUTE.queue)

    [post] = fake_slack.wait_for("chat.postMessage", channel="CALERTS", text=_alert_text(topic))
    blocks = post.params["blocks"]
    assert "The app lost my booking again" in blocks[2]["text"]["text"]
    assert blocks[3]["elements"][0] | {"text": None} == {
        "type": "button",
        "action_id": ALERT_ACKNOWLEDGE_ACTION,
        "text": None,
        "style": "primary",
        "value": str(alert_id),
    }
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with session_scope() as session:
            if session.get_one(Alert, alert_id).slack_message_ts == fake_slack.posted_ts(post):
                break
        time.sleep(0.05)
    time.sleep(2.0)  # past the channel's pace: a second post would have happened by now
    assert len(fake_slack.calls_to("chat.postMessage", channel="CALERTS", text=_alert_text(topic))) == 1


def _alert_text(topic: str) -> str:
    return (
        f":rotating_light: Negative sentiment spike on *{topic}*: negative_share 0.75 "
        "against a baseline of 0.20"
    )
