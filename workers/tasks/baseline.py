"""The naive worker ``queuebot benchmark`` compares against: one Celery task and one pipeline call per text.

This is how a first version of such a worker is usually written (a Hugging Face ``pipeline`` per
process, called once per message). It is not used by the product; it exists so the benchmark measures
the batching design against a real alternative on the same broker, worker and model. It stores no
rows (it only counts finished texts in Redis), which flatters it slightly: the comparison is
conservative.
"""

from __future__ import annotations

import threading
import time
from functools import cache
from typing import Any

from workers.celery_app import celery_app

BASELINE_TASK = "queuebot.baseline_sentiment"
BASELINE_QUEUE = "baseline"
_pipeline_lock = threading.Lock()


@cache
def _pipeline(model_folder: str) -> Any:
    from transformers import pipeline

    from core.settings import get_settings
    from workers.ml.device import resolve_device

    return pipeline("text-classification", model=model_folder, device=resolve_device(get_settings().device))


@cache
def _redis() -> Any:
    import redis

    from core.settings import get_settings

    return redis.Redis.from_url(get_settings().redis_url)


def finished_at_key(counter_key: str) -> str:
    """Where the last finished text's wall-clock time (seconds since the epoch) goes beside its count."""
    return f"{counter_key}:finished-at"


@celery_app.task(name=BASELINE_TASK)
def baseline_sentiment(text: str, model_folder: str, counter_key: str) -> None:
    with _pipeline_lock:
        classifier = _pipeline(model_folder)
    classifier(text, truncation=True, max_length=128)
    # Count finished texts where the benchmark can see them; the product would write a row here. One
    # task at a time (a solo pool), so the last time written is the last text's.
    _redis().pipeline(transaction=False).incr(counter_key).set(
        finished_at_key(counter_key), time.time()
    ).execute()
