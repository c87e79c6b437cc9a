"""The worker's Redis client for its own coordination keys (pacing, leases, conversation turns).

Celery has its own connections to the broker; this one is for keys the project sets itself.
"""

from __future__ import annotations

from functools import lru_cache

import redis

from core.settings import get_settings


@lru_cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def redis_client() -> redis.Redis:
    return _client(get_settings().redis_url)
