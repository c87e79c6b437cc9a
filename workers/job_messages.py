"""Sending a job's message to its queue: by the gateway when the job is accepted, and by the sweeper
when the message was lost. The job id is the task id, so every message names its row."""

from __future__ import annotations

from core.jobs import TASK_ROUTES, JobKind
from workers.celery_app import celery_app


def send_job_message(job_id: str, kind: JobKind) -> None:
    route = TASK_ROUTES[kind]
    celery_app.send_task(route.task_name, args=[job_id], task_id=job_id, queue=route.queue.value)
