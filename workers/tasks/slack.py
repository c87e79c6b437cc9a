"""Celery tasks on the io queue: post finished jobs, alerts and reports to Slack (never from the web
process)."""

from __future__ import annotations

from typing import Any

from celery import Task

from core.jobs import HANDOFF_NOTICE_ROUTE, SLACK_ALERT_ROUTE, SLACK_DELIVERY_ROUTE, SLACK_REPORT_ROUTE
from workers.celery_app import celery_app
from workers.services import slack_delivery
from workers.services.slack_delivery import RetryLater

# Alerts, notices and reports have no attempt counter of their own: Celery's bounds them.
ALERT_MAX_RETRIES = 20


@celery_app.task(name=SLACK_DELIVERY_ROUTE.task_name, bind=True, max_retries=None)
def deliver_to_slack(self: Task[Any, Any], delivery_id: int) -> None:
    # The delivery row counts failed attempts and gives up by itself; pacing waits are unbounded.
    try:
        slack_delivery.deliver_job_result(delivery_id)
    except RetryLater as wait:
        raise self.retry(countdown=wait.seconds, exc=wait) from None


@celery_app.task(name=SLACK_ALERT_ROUTE.task_name, bind=True, max_retries=ALERT_MAX_RETRIES)
def post_alert_to_slack(self: Task[Any, Any], alert_id: int) -> None:
    try:
        slack_delivery.post_alert(alert_id)
    except RetryLater as wait:
        raise self.retry(countdown=wait.seconds, exc=wait) from None


@celery_app.task(name=HANDOFF_NOTICE_ROUTE.task_name, bind=True, max_retries=ALERT_MAX_RETRIES)
def notify_handoff(self: Task[Any, Any], conversation_id: int, job_id: str) -> None:
    try:
        slack_delivery.post_handoff(conversation_id, job_id)
    except RetryLater as wait:
        raise self.retry(countdown=wait.seconds, exc=wait) from None


@celery_app.task(name=SLACK_REPORT_ROUTE.task_name, bind=True, max_retries=ALERT_MAX_RETRIES)
def post_report_to_slack(self: Task[Any, Any], report_id: int) -> None:
    try:
        slack_delivery.post_report(report_id)
    except RetryLater as wait:
        raise self.retry(countdown=wait.seconds, exc=wait) from None
