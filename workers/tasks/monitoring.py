"""Celery tasks of sentiment monitoring, on the io queue (database work only): spike detection after
each stored sentiment batch, and the periodic reports Celery beat asks for."""

from __future__ import annotations

from core.jobs import REPORTS_ROUTE, SPIKE_DETECTION_ROUTE
from workers.celery_app import celery_app
from workers.monitoring.reports import make_due_reports
from workers.monitoring.spike_detection import detect_spikes as run_detection
from workers.retries import RETRY_WHILE_DEPENDENCY_UNAVAILABLE


@celery_app.task(name=SPIKE_DETECTION_ROUTE.task_name, **RETRY_WHILE_DEPENDENCY_UNAVAILABLE)
def detect_spikes(first_touched: dict[str, str]) -> list[int]:
    return run_detection(first_touched)


@celery_app.task(name=REPORTS_ROUTE.task_name, **RETRY_WHILE_DEPENDENCY_UNAVAILABLE)
def make_reports() -> list[int]:
    return make_due_reports()
