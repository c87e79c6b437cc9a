"""Redis clients for the bots' own checks (is the broker up before a job is accepted; readiness,
metrics, rate limits): each gives up after its timeout, with no retry, so a hung or absent Redis
never holds a request. Not the workers'
client (workers/redis_client.py), which may wait and retry."""

from __future__ import annotations

from functools import lru_cache

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


@lru_cache
def fail_fast_redis(url: str, timeout_s: float) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s, retry=Retry(NoBackoff(), 0)
    )
