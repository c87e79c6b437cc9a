"""Request limits counted in Redis: per caller on /api, and per client address on wrong tokens.

Fixed windows: one counter per bucket and window, so every web process shares the count and a bucket
costs one short-lived key. A caller can get up to twice its limit through in the second either side
of a window's end; for a limit meant to stop floods and guessing rather than to meter, that is the
price of one INCR per request.

Buckets are named by a hash of the credential (the token, or a sign-in's cookie), never the
credential itself: Redis keys show up in MONITOR, slow logs and dumps.

When Redis cannot be reached the limits are not applied (fail open): they protect capacity, and the
routes that add work already answer 503 while Redis is down (the gateway cannot enqueue), while the
read routes serve finished results from the database. Failing closed would turn a Redis outage into
an outage of the whole API. The token comparison itself does not depend on Redis.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable

import redis
from fastapi import HTTPException, Request, status

from bots.fail_fast_redis import fail_fast_redis
from core import redis_keys
from core.settings import get_settings

log = logging.getLogger(__name__)

# A request must not wait on a hung Redis for longer than this, and after a failure the limits stay
# off this long, so an outage costs one timeout (and one log line) per pause, not one per request.
REDIS_TIMEOUT_S = 0.25
PAUSE_AFTER_FAILURE_S = 5.0

_paused_until = 0.0
_pause_lock = threading.Lock()


def count_request(credential: str) -> None:
    """429 once the holder of ``credential`` has made api_rate_limit requests in the window."""
    settings = get_settings()
    if settings.api_rate_limit == 0:
        return
    bucket = "caller:" + hashlib.sha256(credential.encode()).hexdigest()[:32]
    window_s = settings.api_rate_limit_window_s
    counted = _hit(bucket, window_s)
    if counted is not None and counted[0] > settings.api_rate_limit:
        raise _too_many(
            f"rate limit: {settings.api_rate_limit} requests per {window_s} s for this token; "
            f"retry in {counted[1]} s",
            counted[1],
        )


def refuse_if_guessing(request: Request) -> None:
    """429 while this client address has sent auth_failure_limit wrong tokens in the window.

    Called before the token is compared, so that once the limit is reached the right token gets the
    same answer as a wrong one and guessing learns nothing until the window ends.
    """
    settings = get_settings()
    if settings.auth_failure_limit == 0:
        return
    window_s = settings.api_rate_limit_window_s
    counted = _peek(_address_bucket(request), window_s)
    if counted is not None and counted[0] >= settings.auth_failure_limit:
        raise _too_many(f"too many wrong tokens from this address; retry in {counted[1]} s", counted[1])


def note_wrong_token(request: Request) -> None:
    if get_settings().auth_failure_limit:
        _hit(_address_bucket(request), get_settings().api_rate_limit_window_s)


def _address_bucket(request: Request) -> str:
    address = request.client.host if request.client is not None else "unknown"
    return "wrong-token:" + address


def _too_many(detail: str, retry_after_s: int) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS, detail, headers={"Retry-After": str(retry_after_s)}
    )


def _window(bucket: str, window_s: int) -> tuple[str, int]:
    now = time.time()
    index = int(now // window_s)
    retry_after_s = max(1, math.ceil((index + 1) * window_s - now))
    return f"{redis_keys.RATE_LIMIT}{bucket}:{index}", retry_after_s


def _hit(bucket: str, window_s: int) -> tuple[int, int] | None:
    """Counts one more in the bucket's current window: (count, seconds to the window's end), or None
    while Redis is unavailable."""
    key, retry_after_s = _window(bucket, window_s)

    def count(client: redis.Redis) -> int:
        pipeline = client.pipeline(transaction=True)
        pipeline.incr(key)
        pipeline.expire(key, window_s + 1)
        return int(pipeline.execute()[0])

    counted = _ask_redis(count)
    return None if counted is None else (counted, retry_after_s)


def _peek(bucket: str, window_s: int) -> tuple[int, int] | None:
    key, retry_after_s = _window(bucket, window_s)
    counted = _ask_redis(lambda client: int(client.get(key) or 0))
    return None if counted is None else (counted, retry_after_s)


def _ask_redis(question: Callable[[redis.Redis], int]) -> int | None:
    global _paused_until
    if time.monotonic() < _paused_until:
        return None
    try:
        return question(fail_fast_redis(get_settings().redis_url, REDIS_TIMEOUT_S))
    except redis.RedisError as exc:
        with _pause_lock:
            _paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_S
        log.warning("rate limits off for %.0f s: Redis is unavailable: %s", PAUSE_AFTER_FAILURE_S, exc)
        return None
