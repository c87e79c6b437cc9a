"""How tasks ride out a database or Redis that is locked or briefly unavailable.

SQLite past its busy timeout, Postgres restarting, a dropped connection, Redis restarting (the
conversation locks, the broker a task sends its follow-ups to): the task is retried with exponential
backoff and jitter (1, 2, 4 ... 60 s; about 6 minutes in all) rather than failing its job for
something that was not the job's fault. Every task is idempotent (jobs are conditional updates,
alerts and reports are unique), so running one again is safe. Should the retry itself not reach the
broker, the job was put back in the queue first (workers/job_runner.py) and the sweeper sends it.
"""

from __future__ import annotations

from typing import Any

import kombu.exceptions
import redis.exceptions
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

DEPENDENCY_UNAVAILABLE = (
    OperationalError,  # also PostgreSQL's lock and statement timeouts
    PoolTimeout,  # every pooled connection busy for pool_timeout_s
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)

RETRY_WHILE_DEPENDENCY_UNAVAILABLE: dict[str, Any] = {
    "autoretry_for": DEPENDENCY_UNAVAILABLE,
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 10,
}
