"""When the server cannot take work now, whoever asks: one decision for the REST API's 503 and the
OpenAI-compatible routes' (bots/web/openai_api/), which differ only in the shape of the body.

503, not 429: the server is short of capacity for this kind of work (QueueFull), cannot queue work at
all (QueueUnavailable) or cannot reach its database; 429 is for a caller past its own rate limit.
Nothing was stored (a request's writes roll back with its session), so the same request sent again
later is the first.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bots.gateway import QueueFull, QueueUnavailable

log = logging.getLogger(__name__)

# How long a client should wait before retrying when the queue is unreachable or full.
RETRY_AFTER_S = 5

NO_CAPACITY = (QueueFull, QueueUnavailable)
# Down, restarting, past its lock or statement timeout, or every pooled connection busy.
DATABASE_UNAVAILABLE = (OperationalError, PoolTimeout)
RETRY_LATER = (*NO_CAPACITY, *DATABASE_UNAVAILABLE)


def retry_later_message(exc: Exception) -> str:
    """What to tell the client about one of ``RETRY_LATER`` (a database error is logged, not shown)."""
    if isinstance(exc, DATABASE_UNAVAILABLE):
        log.warning("database unavailable: %s", exc)
        return "the database is unavailable; retry later"
    return str(exc)
