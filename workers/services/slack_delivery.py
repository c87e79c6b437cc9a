"""Posting finished jobs and alerts to Slack from the io queue.

Each attempt either posts, or raises :class:`RetryLater` with how long to wait: the channel's pace
(not counted as a failure), Slack's own rate limit (``Retry-After``), or a transient error (counted,
with backoff, until ``slack_delivery_max_attempts``). Errors that no retry can fix (a channel that
does not exist, a revoked token) mark the delivery failed at once. A delivery or alert already
posted is left alone, so a redelivered task posts nothing twice.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient
from sqlalchemy import select, update

from core.jobs import SLACK_DELIVERY_ROUTE, JobSource
from core.settings import get_settings
from db.base import utcnow
from db.engine import session_scope
from db.models import (
    Alert,
    AlertChart,
    Conversation,
    DeliveryStatus,
    Job,
    Message,
    MessageRole,
    Report,
    SlackDelivery,
)
from workers.celery_app import celery_app
from workers.services.slack_coordination import (
    claim_channel_slot,
    mark_notice_sent,
    notice_sent,
    release_delivery_lease,
    take_delivery_lease,
)
from workers.services.slack_messages import alert_message, handoff_message, job_message, report_message

log = logging.getLogger(__name__)

SLACK_TIMEOUT_S = 10
MAX_BACKOFF_S = 60.0
# Slack API errors worth another try; every other error means the request itself is wrong.
TRANSIENT_SLACK_ERRORS = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}


class RetryLater(Exception):
    def __init__(self, seconds: float, reason: str, *, is_failure: bool = True) -> None:
        super().__init__(reason)
        self.seconds = seconds
        # Waiting for the channel's turn or for Slack's rate limit is not a failed attempt.
        self.is_failure = is_failure


class PermanentSlackError(Exception):
    pass


@lru_cache
def _web_client(token: str, base_url: str) -> WebClient:
    return WebClient(token=token, base_url=base_url, timeout=SLACK_TIMEOUT_S)


def slack_client() -> WebClient:
    settings = get_settings()
    if settings.slack_bot_token is None:
        raise PermanentSlackError("QUEUEBOT_SLACK_BOT_TOKEN is not set")
    return _web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)


def enqueue_deliveries(job_id: str) -> None:
    """Send the delivery task for each of the finished job's pending Slack targets."""
    with session_scope() as session:
        pending = session.scalars(
            select(SlackDelivery.id).where(
                SlackDelivery.job_id == job_id, SlackDelivery.status == DeliveryStatus.PENDING
            )
        ).all()
    for delivery_id in pending:
        celery_app.send_task(
            SLACK_DELIVERY_ROUTE.task_name, args=[delivery_id], queue=SLACK_DELIVERY_ROUTE.queue.value
        )


def deliver_job_result(delivery_id: int) -> None:
    if not take_delivery_lease(delivery_id):
        log.info("slack delivery %d: another worker is posting it", delivery_id)
        return
    try:
        _deliver_job_result(delivery_id)
    finally:
        release_delivery_lease(delivery_id)


def _deliver_job_result(delivery_id: int) -> None:
    with session_scope() as session:
        delivery = session.get(SlackDelivery, delivery_id)
        if delivery is None or delivery.status is not DeliveryStatus.PENDING:
            return
        job = session.get_one(Job, delivery.job_id)
        text, blocks = job_message(job)
        target = (delivery.channel, delivery.thread_ts, delivery.placeholder_ts, delivery.response_url)
        attempts = delivery.attempts
    channel, thread_ts, placeholder_ts, response_url = target

    _wait_for_channel(channel)
    try:
        message_ts = _post(channel, thread_ts, placeholder_ts, response_url, text, blocks)
    except PermanentSlackError as exc:
        _mark_delivery(delivery_id, DeliveryStatus.FAILED, error=str(exc))
        log.error("slack delivery %d failed for good: %s", delivery_id, exc)
        return
    except RetryLater as retry:
        if retry.is_failure:
            attempts = _count_attempt(delivery_id)
            if attempts >= get_settings().slack_delivery_max_attempts:
                _mark_delivery(delivery_id, DeliveryStatus.FAILED, error=str(retry))
                log.error("slack delivery %d failed after %d attempts: %s", delivery_id, attempts, retry)
                return
            retry.seconds = max(retry.seconds, min(2.0**attempts, MAX_BACKOFF_S))
        raise
    log.info("slack delivery %d: job %s posted to %s", delivery_id, job.id, channel)
    _mark_delivery(delivery_id, DeliveryStatus.SENT, message_ts=message_ts)


def post_alert(alert_id: int) -> None:
    """The alert's message, then its trend chart uploaded into the message's thread. Each step is
    stored once done, so a retry after a failed upload posts the message no second time."""
    settings = get_settings()
    channel = settings.slack_alerts_channel
    if channel is None:
        log.info("alert %d: no Slack alerts channel configured; not posted", alert_id)
        return
    with session_scope() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise LookupError(f"alert {alert_id} does not exist")
        ts = alert.slack_message_ts
        chart_uploaded = alert.slack_chart_file_id is not None
        text, blocks = alert_message(alert)
    if ts is None:
        _wait_for_channel(channel)
        ts = _post(channel, None, None, None, text, blocks)
        with session_scope() as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.slack_message_ts.is_(None))
                .values(slack_message_ts=ts)
            )
        log.info("alert %d posted to %s", alert_id, channel)
    if not chart_uploaded and ts is not None:
        _upload_chart(alert_id, channel, ts)


def _upload_chart(alert_id: int, channel: str, thread_ts: str) -> None:
    with session_scope() as session:
        chart = session.get(AlertChart, alert_id)
        png = None if chart is None else chart.png
    if png is None:
        log.warning("alert %d has no chart to upload", alert_id)
        return
    _wait_for_channel(channel)
    try:
        response = slack_client().files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            content=png,
            filename=f"alert-{alert_id}.png",
            title=f"Trend behind alert #{alert_id}",
            alt_txt=f"Trend chart of alert #{alert_id}: the spiking bucket against its baseline",
        )
    except SlackApiError as exc:
        raise _classify(exc) from exc
    except OSError as exc:
        raise RetryLater(1.0, f"Slack unreachable: {exc}") from exc
    file_id = str(response["file"]["id"])
    with session_scope() as session:
        session.execute(update(Alert).where(Alert.id == alert_id).values(slack_chart_file_id=file_id))
    log.info("alert %d: chart %s uploaded to its thread in %s", alert_id, file_id, channel)


def post_handoff(conversation_id: int, job_id: str) -> None:
    """Tell the alerts channel that a customer is waiting for a person (once per handing-over job)."""
    channel = get_settings().slack_alerts_channel
    if channel is None:
        log.info("conversation %d handed over; no Slack alerts channel configured to say so", conversation_id)
        return
    with session_scope() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            raise LookupError(f"conversation {conversation_id} does not exist")
        last = session.scalar(
            select(Message.text)
            .where(Message.conversation_id == conversation_id, Message.role == MessageRole.USER)
            .order_by(Message.id.desc())
            .limit(1)
        )
    notice = f"handoff:{job_id}"
    if notice_sent(notice):
        return
    _wait_for_channel(channel)
    # Asked only once the channel's turn is ours, so waiting for the turn repeats no Slack call.
    slack_thread = conversation.source is JobSource.SLACK
    permalink = _thread_permalink(conversation.external_id) if slack_thread else None
    text, blocks = handoff_message(conversation, last or "", permalink)
    _post(channel, None, None, None, text, blocks)
    mark_notice_sent(notice)
    log.info("conversation %d: handoff posted to %s", conversation_id, channel)


def _thread_permalink(external_id: str | None) -> str | None:
    """A link to the Slack thread a conversation lives in (``channel:thread_ts``), or None.

    The notice matters more than the link: any failure here is logged and the notice goes without it.
    """
    channel, _, thread_ts = (external_id or "").partition(":")
    if not channel or not thread_ts:
        log.warning("slack conversation %r is not channel:thread_ts; notice without a link", external_id)
        return None
    try:
        response = slack_client().chat_getPermalink(channel=channel, message_ts=thread_ts)
    except (SlackApiError, OSError, PermanentSlackError) as exc:
        reason = exc.response.get("error") if isinstance(exc, SlackApiError) else exc
        log.warning("no permalink for %s (%s); the handoff notice goes without it", external_id, reason)
        return None
    permalink = response.get("permalink")
    return str(permalink) if permalink else None


def _wait_for_channel(channel: str) -> None:
    wait = claim_channel_slot(channel)
    if wait > 0:
        raise RetryLater(wait, f"channel {channel} posted less than an interval ago", is_failure=False)


def _post(
    channel: str,
    thread_ts: str | None,
    placeholder_ts: str | None,
    response_url: str | None,
    text: str,
    blocks: list[dict[str, Any]],
) -> str | None:
    """Post once; returns the message's ts where Slack tells it (not for response URLs)."""
    if response_url is not None:
        return _post_to_response_url(response_url, text, blocks)
    client = slack_client()
    try:
        if placeholder_ts is not None:
            response = client.chat_update(channel=channel, ts=placeholder_ts, text=text, blocks=blocks)
        else:
            response = client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
    except SlackApiError as exc:
        raise _classify(exc) from exc
    except OSError as exc:  # connection refused, timeouts, DNS
        raise RetryLater(1.0, f"Slack unreachable: {exc}") from exc
    return str(response["ts"])


def _post_to_response_url(url: str, text: str, blocks: list[dict[str, Any]]) -> None:
    try:
        response = WebhookClient(url, timeout=SLACK_TIMEOUT_S).send(
            text=text, blocks=blocks, response_type="ephemeral", replace_original=False
        )
    except OSError as exc:
        raise RetryLater(1.0, f"Slack unreachable: {exc}") from exc
    if response.status_code == 429:
        raise RetryLater(_retry_after(response.headers), "ratelimited", is_failure=False)
    if response.status_code >= 500:
        raise RetryLater(1.0, f"response URL answered {response.status_code}")
    if response.status_code != 200:
        # 404: the URL expired (they live 30 minutes) or was used up (5 posts).
        raise PermanentSlackError(f"response URL answered {response.status_code}: {response.body}")
    return None


def _classify(exc: SlackApiError) -> Exception:
    error = str(exc.response.get("error", ""))
    if exc.response.status_code == 429 or error == "ratelimited":
        return RetryLater(_retry_after(exc.response.headers), "ratelimited", is_failure=False)
    if exc.response.status_code >= 500 or error in TRANSIENT_SLACK_ERRORS:
        return RetryLater(1.0, f"Slack error {exc.response.status_code} {error}")
    return PermanentSlackError(f"Slack refused the post: {error or exc.response.status_code}")


def _retry_after(headers: Any) -> float:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            values = value if isinstance(value, list) else [value]
            try:
                return max(float(values[0]), 0.1)
            except (TypeError, ValueError):
                break
    return 1.0


def _count_attempt(delivery_id: int) -> int:
    with session_scope() as session:
        session.execute(
            update(SlackDelivery)
            .where(SlackDelivery.id == delivery_id)
            .values(attempts=SlackDelivery.attempts + 1)
        )
        return session.get_one(SlackDelivery, delivery_id).attempts


def _mark_delivery(
    delivery_id: int, status: DeliveryStatus, *, message_ts: str | None = None, error: str | None = None
) -> None:
    with session_scope() as session:
        session.execute(
            update(SlackDelivery)
            .where(SlackDelivery.id == delivery_id, SlackDelivery.status == DeliveryStatus.PENDING)
            .values(status=status, message_ts=message_ts, error=error, sent_at=utcnow())
        )


def post_report(report_id: int) -> None:
    """Post a periodic report to the reports channel, once (a redelivered task sees its ts)."""
    channel = get_settings().slack_reports_channel
    if channel is None:
        log.info("report %d: no Slack reports channel configured; not posted", report_id)
        return
    with session_scope() as session:
        report = session.get(Report, report_id)
        if report is None:
            raise LookupError(f"report {report_id} does not exist")
        if report.slack_message_ts is not None:
            return
        text, blocks = report_message(report)
    _wait_for_channel(channel)
    ts = _post(channel, None, None, None, text, blocks)
    with session_scope() as session:
        session.execute(
            update(Report)
            .where(Report.id == report_id, Report.slack_message_ts.is_(None))
            .values(slack_message_ts=ts)
        )
    log.info("report %d posted to %s", report_id, channel)
