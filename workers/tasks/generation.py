"""Celery task: an asynchronous text-generation job (batch queue)."""

from core.jobs import TASK_ROUTES, JobKind
from workers.celery_app import celery_app
from workers.generation.text import generate_text
from workers.job_runner import run_job
from workers.retries import RETRY_WHILE_DEPENDENCY_UNAVAILABLE


@celery_app.task(name=TASK_ROUTES[JobKind.GENERATE].task_name, **RETRY_WHILE_DEPENDENCY_UNAVAILABLE)
def generate(job_id: str) -> None:
    run_job(job_id, generate_text)
