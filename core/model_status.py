"""What each model is doing, for people: serving which version, or training which profile since when.

Whoever builds models (``queuebot up``'s first build, the build it runs behind the serving product,
``queuebot build-models --publish-status``) writes one entry per model into a Redis hash as the build
reaches it; the web app reads the hash for ``GET /api/models`` and the web page. The web never reads
the models folder (it may not have one: in compose only workers mount it), and never imports torch.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from redis import Redis

from core import redis_keys

ModelState = Literal["serving", "training", "failed"]


class ModelStatus(BaseModel):
    name: str
    state: ModelState
    profile: str  # serving: the served version's; training: the one being trained
    version: str | None = None  # the version serving (while training: the one still serving, if any)
    detail: str = ""  # e.g. the validation figures that decided whether a new version serves
    since: datetime


def publish(redis: Redis, status: ModelStatus) -> None:
    redis.hset(redis_keys.MODEL_STATUS, status.name, status.model_dump_json())


def read_all(redis: Redis) -> list[ModelStatus]:
    """Every model's latest entry, by name."""
    raw: dict[Any, Any] = redis.hgetall(redis_keys.MODEL_STATUS)  # type: ignore[assignment]
    found = [ModelStatus.model_validate(json.loads(value)) for value in raw.values()]
    return sorted(found, key=lambda status: status.name)
