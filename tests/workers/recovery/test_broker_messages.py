"""The broker snapshot reads the messages Celery really writes: waiting in kombu's queue lists, and
taken by a consumer into kombu's unacknowledged hash. A Redis database of its own keeps the tests'
worker from consuming them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from kombu import Connection

from cli.redis_server import RedisServer
from core.jobs import SLACK_DELIVERY_ROUTE, TASK_ROUTES, JobKind, Queue
from core.settings import get_settings
from workers.celery_app import create_celery_app
from workers.recovery.broker_messages import take_snapshot


@pytest.fixture
def private_broker_url(redis_server: RedisServer) -> Iterator[str]:
    url = redis_server.url.rsplit("/", 1)[0] + "/7"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


def test_the_snapshot_sees_waiting_job_and_delivery_messages_and_when_a_consumer_took_one(
    private_broker_url: str,
) -> None:
    app = create_celery_app(get_settings().model_copy(update={"redis_url": private_broker_url}))
    waiting_job, taken_job = str(uuid.uuid4()), str(uuid.uuid4())
    generate, reply = TASK_ROUTES[JobKind.GENERATE], TASK_ROUTES[JobKind.REPLY]
    app.send_task(generate.task_name, args=[waiting_job], task_id=waiting_job, queue=generate.queue.value)
    app.send_task(reply.task_name, args=[taken_job], task_id=taken_job, queue=reply.queue.value)
    app.send_task(SLACK_DELIVERY_ROUTE.task_name, args=[4321], queue=SLACK_DELIVERY_ROUTE.queue.value)
    with Connection(private_broker_url) as connection:
        # What a worker does with a message it takes: kombu moves it to the unacknowledged hash.
        taken = connection.default_channel.basic_get(queue=Queue.INTERACTIVE.value, no_ack=False)
        assert taken is not None
        took_at = time.time()

        snapshot = take_snapshot(redis.Redis.from_url(private_broker_url))

    assert waiting_job in snapshot.waiting_tasks and taken_job not in snapshot.waiting_tasks
    assert snapshot.waiting_deliveries == {4321}
    assert abs(snapshot.taken_tasks[taken_job] - took_at) < 5
    assert snapshot.holds_task(waiting_job, taken_within_s=0)
    assert snapshot.holds_task(taken_job, taken_within_s=60)
    # Taken and never acknowledged for longer than that: nothing is running it.
    assert not snapshot.holds_task(taken_job, taken_within_s=0)
    assert not snapshot.holds_task(str(uuid.uuid4()), taken_within_s=60)
