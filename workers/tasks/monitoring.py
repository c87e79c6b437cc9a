"""Celery task: spike detection after each stored sentiment batch (io queue: database work only)."""

from __future__ import annotations

from core.jobs import SPIKE_DETECTION_ROUTE
from workers.celery_app import celery_app
from workers.services.spike_detection import detect_spikes as run_detection


@celery_app.task(name=SPIKE_DETECTION_ROUTE.task_name)
def detect_spikes(first_touched: dict[str, str]) -> list[int]:
    return run_detection(first_touched)
