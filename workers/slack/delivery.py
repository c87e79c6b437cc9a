"""Finished jobs posted to the Slack threads, placeholders and response URLs that asked for them.

A job's delivery rows are written with the job; once the job is final each pending row gets a task
(``enqueue_deliveries_of_finished``, a job-finished hook). A delivery counts its failed attempts,
backs off, and gives up after ``slack_delivery_max_attempts``; one already posted is left alone, so a
redelivered task posts nothing twice.

The delivery writes every answer of record, streamed or not. While a job runs, the Slack streamer
(workers/slack/streaming.py) may show its text in a message of its own; it then stores that message as
the delivery's placeholder, so this task's ``chat.update`` turns it into the stored answer. Both hold
the delivery's lease while they post, and a delivery sent while the streamer holds it finds the lease
taken and leaves the post to the streamer, which sends the delivery again when it lets go. Where the
streamer may have left a streamed message unstored, the delivery deletes it before it posts
(workers/slack/stream_orphans.py).
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from core.jobs import SLACK_DELIVERY_ROUTE, JobKind, JobSource, JobStatus
from core.settings import get_settings
from db.base import utcnow
from db.engine import session_scope
from db.models import DeliveryStatus, Job, SlackDelivery
from workers.celery_app import celery_app
from workers.slack.client import PermanentSlackError, RetryLater, post, wait_for_channel
from workers.slack.coordination import release_delivery_lease, take_delivery_lease
from workers.slack.images import upload_job_images
from workers.slack.messages import job_message
from workers.slack.stream_orphans import remove_orphaned_streams

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0


def enqueue_deliveries_of_finished(job: Job) -> None:
    """The job-finished hook. Only a job from Slack has delivery rows (``bots/gateway.py`` writes them
    with Slack's jobs alone), so every other job skips the lookup: a one-text API job would pay for
    it on the worker's busiest path."""
    if job.source is JobSource.SLACK:
        enqueue_deliveries(job.id)


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
        text, blocks = job_message(job, ephemeral=delivery.response_url is not None)
        target = (delivery.channel, delivery.thread_ts, delivery.placeholder_ts, delivery.response_url)
        attempts = delivery.attempts
        has_images = job.kind is JobKind.IMAGE and job.status is JobStatus.DONE
        stream_requested_at = delivery.stream_requested_at
    channel, thread_ts, placeholder_ts, response_url = target

    wait_for_channel(channel)
    try:
        if stream_requested_at is not None and thread_ts is not None:
            remove_orphaned_streams(delivery_id, channel, thread_ts, stream_requested_at)
        if has_images and thread_ts is not None:
            # A response URL takes no files; an image job from Slack always has its thread.
            upload_job_images(job.id, channel, thread_ts)
        message_ts = post(channel, thread_ts, placeholder_ts, response_url, text, blocks)
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
