"""Celery beat's periodic tasks: what each tick carries to the worker."""

from __future__ import annotations

from core.settings import Settings
from workers.celery_app import PERIODIC_TICK_MIN_LIFETIME_S, celery_config


def test_a_tick_outlives_a_queue_wait_longer_than_its_interval() -> None:
    # Expiring after one interval, every tick would be dropped for as long as the io queue's wait
    # exceeded the interval: on a slow or busy worker the task would never run at all.
    settings = Settings(report_check_s=1, sweep_interval_s=1)

    schedule = celery_config(settings)["beat_schedule"]

    assert {entry["task"] for entry in schedule.values()} == {
        "queuebot.make_reports",
        "queuebot.detect_spikes",
        "queuebot.sweep_jobs",
    }
    for entry in schedule.values():
        assert entry["options"]["expires"] >= max(entry["schedule"], PERIODIC_TICK_MIN_LIFETIME_S)


def test_a_tick_of_a_long_interval_lives_for_its_interval() -> None:
    schedule = celery_config(Settings(report_check_s=3600))["beat_schedule"]

    assert schedule["monitoring-reports"]["options"]["expires"] == 3600
