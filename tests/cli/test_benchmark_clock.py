"""``queuebot benchmark`` times each run up to its last result stored, not up to the moment its poller
next looked: the 0.1-s poll would otherwise be part of every figure."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest
import redis

from cli.benchmark import _system
from cli.redis_server import RedisServer
from core.jobs import SENTIMENT_GENERAL_MODEL
from core.settings import get_settings
from workers.model_store import ModelStore
from workers.tasks.baseline import baseline_sentiment, finished_at_key

TEXTS = [f"the flight number {number} left on time" for number in range(6)]


@pytest.mark.usefixtures("celery_worker")
def test_a_system_run_lasts_from_its_first_request_to_its_last_stored_job(
    api: httpx.Client, database: str
) -> None:
    started = time.time()
    figure = _system(api, TEXTS, 2, 3, "three 2-text jobs", database)
    returned = time.time()

    seconds = len(TEXTS) / figure.value
    assert 0 < seconds < returned - started  # ends before the poll that saw it: at the stored row


def test_the_naive_task_counts_each_text_and_stamps_when_it_finished(
    redis_server: RedisServer, tiny_models_dir: Path
) -> None:
    folder = str(ModelStore(tiny_models_dir).folder(SENTIMENT_GENERAL_MODEL))
    counter = f"test:benchmark:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(get_settings().redis_url)
    before = time.time()
    baseline_sentiment("the flight left on time", folder, counter)
    baseline_sentiment("the flight was late", folder, counter)
    after = time.time()

    assert int(client.get(counter) or 0) == 2
    assert before < float(client.get(finished_at_key(counter)) or 0) < after
    client.delete(counter, finished_at_key(counter))
