"""Short, bounded looks at the database and Redis, for /readyz and /metrics.

A probe must answer quickly even when what it probes does not: a load balancer or Prometheus that
waits on a hung probe learns nothing, and a request thread stuck in it is lost to the API. So the
Redis client here gives up after PROBE_TIMEOUT_S and never retries, and callers bound each probe
with a deadline of their own as well (a database driver may not honour any timeout).
"""

from __future__ import annotations

import redis
from sqlalchemy import text

from bots.fail_fast_redis import fail_fast_redis
from db.engine import engine_for

PROBE_TIMEOUT_S = 2.0


def probe_redis(url: str) -> redis.Redis:
    return fail_fast_redis(url, PROBE_TIMEOUT_S)


def check_database(database_url: str) -> None:
    with engine_for(database_url).connect() as connection:
        connection.execute(text("SELECT 1"))


def check_redis(redis_url: str) -> None:
    if not probe_redis(redis_url).ping():
        raise ConnectionError("Redis did not answer PING")
