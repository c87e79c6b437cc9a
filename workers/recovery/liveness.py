"""Which worker processes are alive: each process that runs jobs keeps a key in Redis fresh.

A job records the process that claimed it (``jobs.claimed_by``). If that process dies (SIGKILL,
the OOM killer, a lost machine) its key expires, and the sweeper knows the job will never finish
there. Celery's own ways to ask (``inspect ping``) need the worker to answer, which a solo pool busy
with a task does not; a key written by a thread of the process itself needs nothing from the pool.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from redis.exceptions import RedisError

from core import redis_keys
from core.settings import get_settings
from workers.redis_client import redis_client

log = logging.getLogger(__name__)

# A mark outlives this many missed beats, so a busy or briefly disconnected process is not taken
# for dead.
BEATS_PER_LIFETIME = 3

_started_in_pid: int | None = None
_start_lock = threading.Lock()


def this_process() -> str:
    """The name this process claims jobs under: host and pid, unique among live processes."""
    return f"{socket.gethostname()}:{os.getpid()}"


def mark_lifetime_s() -> float:
    return get_settings().worker_heartbeat_s * BEATS_PER_LIFETIME


def ensure_heartbeat() -> None:
    """Start this process's heartbeat thread, once per process (a forked child starts its own)."""
    global _started_in_pid
    if _started_in_pid == os.getpid():
        return
    with _start_lock:
        if _started_in_pid == os.getpid():
            return
        # The first mark is written before any job is claimed, so a sweep never sees a claim by a
        # process that has not beaten yet.
        _beat(this_process())
        thread = threading.Thread(target=_beat_forever, name="queuebot-heartbeat", daemon=True)
        thread.start()
        _started_in_pid = os.getpid()


def alive(processes: set[str]) -> set[str]:
    """The processes among ``processes`` whose mark is fresh."""
    names = sorted(processes)
    if not names:
        return set()
    found = redis_client().mget([redis_keys.WORKER_ALIVE + name for name in names])
    return {name for name, mark in zip(names, found, strict=True) if mark is not None}


def liveness_known() -> bool:
    """Whether a missing mark means a dead process. Right after Redis restarted, every mark is missing
    until its process beats again; wait until Redis has been up for a whole mark lifetime."""
    try:
        uptime_s = redis_client().info("server")["uptime_in_seconds"]
    except (RedisError, KeyError) as exc:
        log.warning("redis uptime unknown (%s); no process is judged dead", exc)
        return False
    return float(uptime_s) >= mark_lifetime_s()


def _beat(process: str) -> None:
    redis_client().set(redis_keys.WORKER_ALIVE + process, 1, px=int(mark_lifetime_s() * 1000))


def _beat_forever() -> None:
    process = this_process()
    interval_s = get_settings().worker_heartbeat_s
    failing = False
    while True:
        time.sleep(interval_s)
        try:
            _beat(process)
        except RedisError as exc:
            # Redis is down or restarting; the sweeper does not judge processes until Redis has been
            # up for a whole mark lifetime, so a missed beat here costs nothing. Said once per outage.
            if not failing:
                log.warning("worker heartbeat not written (Redis unreachable): %s", exc)
            failing = True
        else:
            failing = False
