"""The io-queue tasks that post to Slack: one post per job, Slack's pace per channel, rate limits and
transient errors retried, errors no retry can fix recorded; alerts posted once to the alerts channel."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from core.jobs import SLACK_ALERT_ROUTE
from core.settings import get_settings
from core.slack import ALERT_ACKNOWLEDGE_ACTION
from db.engine import session_scope
from db.models import Alert, DeliveryStatus, SlackDelivery
from tests.support.alert_rows import add_alert
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import SlackSender, mention
from tests.support.waiting import ensure_not_for_a_while, wait_for
from workers.celery_app import celery_app

pytestmark = pytest.mark.usefixtures("celery_worker")


def _delivery(channel: str) -> SlackDelivery:
    """The channel's delivery once it is no longer pending."""

    def delivery() -> SlackDelivery | None:
        with session_scope() as session:
            return session.scalar(select(SlackDelivery).where(SlackDelivery.channel == channel))

    found = wait_for(
        delivery,
        f"the delivery to {channel} no longer pending",
        until=lambda found: found is not None and found.status is not DeliveryStatus.PENDING,
        interval_s=0.05,
    )
    assert found is not None
    return found


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
    ensure_not_for_a_while(
        lambda: len(fake_slack.calls_to("chat.update", channel=channel)),
        f"the refused post to {channel} tried again",
        happened=lambda posts: posts != 1,
        for_s=1.5,
    )


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

    def message_ts() -> str | None:
        with session_scope() as session:
            return session.get_one(Alert, alert_id).slack_message_ts

    wait_for(
        message_ts,
        f"alert {alert_id} stored with its Slack message",
        until=lambda ts: ts == fake_slack.posted_ts(post),
        interval_s=0.05,
    )
    # Past the channel's pace: a second post would have happened by then.
    ensure_not_for_a_while(
        lambda: len(fake_slack.calls_to("chat.postMessage", channel="CALERTS", text=_alert_text(topic))),
        f"the alert on {topic} posted twice",
        happened=lambda posts: posts != 1,
        for_s=2.0,
    )


def _alert_text(topic: str) -> str:
    return (
        f":rotating_light: Negative sentiment spike on *{topic}*: negative_share 0.75 "
        "against a baseline of 0.20"
    )
