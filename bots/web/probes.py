"""Short, bounded looks at the database and Redis, for /readyz and /metrics.

A probe must answer quickly even when what it probes does not: a load balancer or Prometheus that
waits on a hung probe learns nothing, and a request thread stuck in it is lost to the API. So the
Redis client here gives up after PROBE_TIMEOUT_S and never retries, and callers bound each probe
with a deadline of their own as well (a database driver may not honour any timeout).
"""

from __future__ import annotations

from functools import lru_cache

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import text

from db.engine import engine_for

PROBE_TIMEOUT_S = 2.0


@lru_cache
def probe_redis(url: str) -> redis.Redis:
    # Not the workers' client (workers/redis_client.py): that one may wait and retry, a probe may not.
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=PROBE_TIMEOUT_S,
        socket_timeout=PROBE_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
    )


def check_database(database_url: str) -> None:
    with engine_for(database_url).connect() as connection:
        connection.execute(text("SELECT 1"))


def check_redis(redis_url: str) -> None:
    if not probe_redis(redis_url).ping():
        raise ConnectionError("Redis did not answer PING")
