"""Celery task: an image job, handwritten digits drawn by the conditional GAN (batch queue)."""

from core.jobs import TASK_ROUTES, JobKind
from workers.celery_app import celery_app
from workers.images.digits import draw_digits
from workers.job_runner import run_job
from workers.retries import RETRY_WHILE_DEPENDENCY_UNAVAILABLE


@celery_app.task(name=TASK_ROUTES[JobKind.IMAGE].task_name, **RETRY_WHILE_DEPENDENCY_UNAVAILABLE)
def image(job_id: str) -> None:
    run_job(job_id, draw_digits)
