"""Celery task: classify a batch of stream items and store the observations (batch queue)."""

from core.jobs import TASK_ROUTES, JobKind
from workers.celery_app import celery_app
from workers.job_runner import run_job
from workers.monitoring.sentiment import classify_batch
from workers.retries import RETRY_WHILE_DEPENDENCY_UNAVAILABLE


@celery_app.task(name=TASK_ROUTES[JobKind.SENTIMENT].task_name, **RETRY_WHILE_DEPENDENCY_UNAVAILABLE)
def sentiment(job_id: str) -> None:
    run_job(job_id, classify_batch)
