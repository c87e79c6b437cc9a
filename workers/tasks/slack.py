"""Celery tasks on the io queue: post finished jobs, alerts and reports to Slack (never from the web
process), and show a running job's text in its thread as it is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Task

from core.jobs import (
    HANDOFF_NOTICE_ROUTE,
    SLACK_ALERT_ROUTE,
    SLACK_DELIVERY_ROUTE,
    SLACK_REPORT_ROUTE,
    SLACK_STREAM_ROUTE,
)
from core.settings import get_settings
from workers.celery_app import celery_app
from workers.job_runner import on_job_finished, on_job_started
from workers.slack.alerts import post_alert
from workers.slack.client import RetryLater
from workers.slack.delivery import deliver_job_result, enqueue_deliveries_of_finished
from workers.slack.handoffs import post_handoff
from workers.slack.reports import post_report
from workers.slack.streaming import start_streaming, stream_job_text

# A finished job's pending Slack targets are posted by the task below; every worker process imports
# this module (celery_app's include), so every process that runs jobs sends them.
on_job_finished(enqueue_deliveries_of_finished)
# A running job's text is shown in its Slack thread by the streamer below, sent when the job is claimed.
on_job_started(start_streaming)


@celery_app.task(name=SLACK_DELIVERY_ROUTE.task_name, bind=True, max_retries=None)
def deliver_to_slack(self: Task[Any, Any], delivery_id: int) -> None:
    # The delivery row counts failed attempts and gives up by itself; pacing waits are unbounded.
    try:
        deliver_job_result(delivery_id)
    except RetryLater as wait:
        raise self.retry(countdown=wait.seconds, exc=wait) from None


@celery_app.task(name=SLACK_STREAM_ROUTE.task_name)
def stream_to_slack(delivery_id: int) -> None:
    # Not retried: a preview that fails leaves the answer to its delivery, which posts it whole.
    stream_job_text(delivery_id)


# Alerts, notices and reports have no row of attempts: the task counts its failed attempts itself, in
# a keyword argument its retries carry. Celery's own retry count would also count the waits for the
# channel's pace, so a burst of posts to one channel (a day's reports on many topics, a catch-up)
# would use up the bound while waiting its turn, and the last posts would be dropped.


def _post_or_retry(task: Task[Any, Any], failures: int, post: Callable[..., None], *args: Any) -> None:
    try:
        post(*args)
    except RetryLater as wait:
        failures += wait.is_failure
        if failures >= get_settings().slack_delivery_max_attempts:
            raise
        raise task.retry(countdown=wait.seconds, kwargs={"failures": failures}, exc=wait) from None


@celery_app.task(name=SLACK_ALERT_ROUTE.task_name, bind=True, max_retries=None)
def post_alert_to_slack(self: Task[Any, Any], alert_id: int, failures: int = 0) -> None:
    _post_or_retry(self, failures, post_alert, alert_id)


@celery_app.task(name=HANDOFF_NOTICE_ROUTE.task_name, bind=True, max_retries=None)
def notify_handoff(self: Task[Any, Any], conversation_id: int, job_id: str, failures: int = 0) -> None:
    _post_or_retry(self, failures, post_handoff, conversation_id, job_id)


@celery_app.task(name=SLACK_REPORT_ROUTE.task_name, bind=True, max_retries=None)
def post_report_to_slack(self: Task[Any, Any], report_id: int, failures: int = 0) -> None:
    _post_or_retry(self, failures, post_report, report_id)
