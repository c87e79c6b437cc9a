"""A model build's progress, published for the web page and ``GET /api/models`` (``core.model_status``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError

from core import model_status
from core.model_status import ModelStatus
from training.build import BuildEvent

log = logging.getLogger(__name__)

_STATES = {
    "cached": "serving",
    "serving": "serving",
    "kept": "serving",
    "training": "training",
    "failed": "failed",
}


def redis_publisher(redis_url: str) -> Callable[[BuildEvent], None]:
    """An ``on_event`` for ``build_models`` that writes each event to Redis. A build outlives a Redis
    outage: an event that cannot be written is logged, and the next one tries again."""
    redis = Redis.from_url(redis_url, socket_timeout=5)

    def publish(event: BuildEvent) -> None:
        status = ModelStatus(
            name=event.name,
            state=_STATES[event.state],  # type: ignore[arg-type]
            profile=event.profile,
            version=event.version,
            detail=event.detail,
            since=datetime.now(UTC),
        )
        try:
            model_status.publish(redis, status)
        except RedisError as exc:
            log.warning("model status of %s not published (Redis unreachable): %s", event.name, exc)

    return publish
