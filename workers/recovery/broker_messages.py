"""What is in the broker right now: which jobs and Slack deliveries have a message waiting in a queue
or taken by a worker.

This reads kombu's Redis layout (a list per queue and priority, and the ``unacked`` hash of messages
delivered to workers but not yet acknowledged) using kombu's own names for it, in one MULTI so the
picture is consistent: a message moving from a queue to a worker is seen in one place or the other.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import redis
from kombu.transport.redis import PRIORITY_STEPS, Channel

from core.jobs import SLACK_DELIVERY_ROUTE, Queue
from workers.redis_client import redis_client

log = logging.getLogger(__name__)


@dataclass
class BrokerSnapshot:
    taken_at: float  # time.time() when it was read, the clock kombu stamps deliveries with
    # Task ids (a job's task id is its job id) and Slack delivery ids with a message in a queue.
    waiting_tasks: set[str] = field(default_factory=set)
    waiting_deliveries: set[int] = field(default_factory=set)
    # The same, for messages a worker has taken: when it took them.
    taken_tasks: dict[str, float] = field(default_factory=dict)
    taken_deliveries: dict[int, float] = field(default_factory=dict)

    def holds_task(self, task_id: str, taken_within_s: float) -> bool:
        """Whether a message for the task is waiting, or was taken by a worker in the last
        ``taken_within_s``. A message taken longer ago and still unacknowledged belongs to a worker
        that did not start it: a live worker starts what it takes at once."""
        taken = self.taken_tasks.get(task_id)
        return task_id in self.waiting_tasks or (
            taken is not None and taken >= self.taken_at - taken_within_s
        )

    def holds_delivery(self, delivery_id: int, taken_within_s: float) -> bool:
        taken = self.taken_deliveries.get(delivery_id)
        return delivery_id in self.waiting_deliveries or (
            taken is not None and taken >= self.taken_at - taken_within_s
        )


def queue_keys() -> list[str]:
    # kombu keeps a list per priority step; priority 0 is the queue's own name.
    return [
        queue.value if step == 0 else f"{queue.value}{Channel.sep}{step}"
        for queue in Queue
        for step in PRIORITY_STEPS
    ]


def take_snapshot(client: redis.Redis | None = None) -> BrokerSnapshot:
    pipe = (client or redis_client()).pipeline(transaction=True)
    keys = queue_keys()
    for key in keys:
        pipe.lrange(key, 0, -1)
    pipe.hgetall(Channel.unacked_key)
    pipe.zrange(Channel.unacked_index_key, 0, -1, withscores=True)
    taken_at = time.time()
    *waiting_lists, unacked, unacked_index = pipe.execute()

    snapshot = BrokerSnapshot(taken_at=taken_at)
    for waiting in waiting_lists:
        for raw in waiting:
            _note(snapshot, json.loads(raw), None)
    taken_at_by_tag = {_text(tag): score for tag, score in unacked_index}
    for tag, raw in unacked.items():
        message, _exchange, _routing_key = json.loads(raw)
        # A tag missing from the index is mid-acknowledgement; count it as just taken.
        _note(snapshot, message, taken_at_by_tag.get(_text(tag), taken_at))
    return snapshot


def _note(snapshot: BrokerSnapshot, message: dict[str, Any], taken_at: float | None) -> None:
    headers = message.get("headers") or {}
    task_id, task_name = headers.get("id"), headers.get("task")
    if not isinstance(task_id, str):
        return  # not a Celery task message
    if taken_at is None:
        snapshot.waiting_tasks.add(task_id)
    else:
        snapshot.taken_tasks[task_id] = max(taken_at, snapshot.taken_tasks.get(task_id, 0.0))
    if task_name == SLACK_DELIVERY_ROUTE.task_name:
        delivery_id = _first_arg(message)
        if isinstance(delivery_id, int):
            if taken_at is None:
                snapshot.waiting_deliveries.add(delivery_id)
            else:
                previous = snapshot.taken_deliveries.get(delivery_id, 0.0)
                snapshot.taken_deliveries[delivery_id] = max(taken_at, previous)


def _first_arg(message: dict[str, Any]) -> Any:
    # Celery's message protocol 2: the body is [args, kwargs, embed], base64 in kombu's Redis transport.
    try:
        body = message["body"]
        if (message.get("properties") or {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return args[0] if args else None
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        log.warning("a Slack delivery message could not be read: %s", exc)
        return None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
