"""How tasks ride out a database that is locked or briefly unavailable.

SQLite past its busy timeout, Postgres restarting, a dropped connection: the task is retried with
exponential backoff and jitter (1, 2, 4 ... 60 s; about 6 minutes in all) rather than failing with
its job left queued. Every task is idempotent (jobs are conditional updates, alerts and reports are
unique), so running one again is safe.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import OperationalError

DATABASE_UNAVAILABLE = (OperationalError,)

RETRY_WHILE_DATABASE_UNAVAILABLE: dict[str, Any] = {
    "autoretry_for": DATABASE_UNAVAILABLE,
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 10,
}
