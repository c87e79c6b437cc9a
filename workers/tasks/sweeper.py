"""The sweep Celery beat sends every sweep_interval_s, on the io queue (a Redis read and a few
queries). A sweep that fails is not retried: the next beat is the retry."""

from __future__ import annotations

from core.jobs import SWEEP_ROUTE
from workers.celery_app import celery_app
from workers.recovery.sweeper import sweep


@celery_app.task(name=SWEEP_ROUTE.task_name)
def sweep_jobs() -> int:
    result = sweep()
    return 0 if result is None else result.total
