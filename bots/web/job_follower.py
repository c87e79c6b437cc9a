"""Following one job from the web app until it is final: the one follower behind GET
/api/jobs/{id}/events and the OpenAI-compatible routes, which expect an answer (or a stream) from
an asynchronous job.

The follower subscribes to the job's Redis channel *before* it first reads the row, so a change
between the two is not missed, then reads the row again on each announcement and every ``RECHECK_S``
without one: an announcement lost while Redis restarted delays an update by seconds and loses
nothing, and the row stays the only source of truth. With ``text``, it also passes on the pieces the
worker appends to the job's text stream as it decodes (core/job_text.py), from ``after`` on; on the
final row it first hands over every piece not yet passed on (the worker sends them all before it
stores the result), so the final row comes after all of them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from starlette.concurrency import run_in_threadpool

from bots.web.schemas import JobOut
from core import redis_keys
from core.job_text import START, TextPiece, aread_pieces
from core.settings import get_settings
from db import queries
from db.engine import new_session

log = logging.getLogger(__name__)

RECHECK_S = 5.0

# What a follower yields: the row, each time it is read (the first at once, the final one last); new
# text pieces; or None when RECHECK_S passed without news (a stream's moment to send a keep-alive).
Update = JobOut | list[TextPiece] | None


class WaitExpired(Exception):
    """The deadline passed before the job was final; ``job`` is the row as last read."""

    def __init__(self, job: JobOut) -> None:
        super().__init__(f"job {job.id} is still {job.status.value}")
        self.job = job


class JobGone(LookupError):
    """The job's row was deleted while it was followed."""


def load_job(job_id: str) -> JobOut | None:
    with new_session() as session:
        job = queries.get_job(session, job_id)
        return None if job is None else JobOut.model_validate(job)


async def follow(
    job_id: str, deadline: float = math.inf, *, text: bool = False, after: str = START
) -> AsyncIterator[Update]:
    """The job's updates until it is final (see ``Update``); raises WaitExpired once ``deadline``
    (``time.monotonic()``) passes first. Use with ``contextlib.aclosing`` so Redis is let go at once."""
    client = aioredis.from_url(get_settings().redis_url)
    pubsub = client.pubsub()
    waits: dict[str, asyncio.Task[object]] = {}
    try:
        subscribed = await _subscribe(pubsub, job_id)
        while True:
            job = await run_in_threadpool(load_job, job_id)
            if job is None:
                raise JobGone(f"job {job_id} no longer exists")
            if job.status.is_final:
                if text and (pieces := await _pieces(client, job_id, after, block_ms=None)):
                    yield pieces
                yield job
                return
            yield job
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitExpired(job)
            wait_s = min(RECHECK_S, remaining)
            waits["status"] = asyncio.create_task(_announcement(pubsub if subscribed else None, wait_s))
            while True:
                if text and "text" not in waits:
                    # Left running across rereads of the row: a read is never cut off halfway.
                    waits["text"] = asyncio.create_task(_pieces(client, job_id, after, int(RECHECK_S * 1000)))
                done, _ = await asyncio.wait(waits.values(), return_when=asyncio.FIRST_COMPLETED)
                if waits.get("text") in done:
                    pieces = waits.pop("text").result()
                    assert isinstance(pieces, list)
                    if pieces:
                        after = pieces[-1].entry_id
                        yield pieces
                if waits["status"] in done:
                    if waits.pop("status").result() is None:
                        yield None
                    break
    finally:
        for wait in waits.values():
            wait.cancel()
        await pubsub.aclose()
        await client.aclose()


async def _subscribe(pubsub: aioredis.client.PubSub, job_id: str) -> bool:
    try:
        await pubsub.subscribe(redis_keys.job_events_channel(job_id))
        return True
    except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
        # The job was queued a moment ago, so Redis is likely back soon; the row is reread meanwhile.
        log.warning("job %s: not subscribed to its announcements (%s); rereading it instead", job_id, exc)
        return False


async def _announcement(pubsub: aioredis.client.PubSub | None, timeout_s: float) -> object | None:
    if pubsub is None:
        await asyncio.sleep(timeout_s)
        return None
    try:
        return await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout_s)
    except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
        # Redis away: fall back to rereading the database at the same pace until it is back.
        log.warning("job announcements unreadable (%s); rereading the job in %.0f s", exc, timeout_s)
        await asyncio.sleep(timeout_s)
        return None


async def _pieces(client: aioredis.Redis, job_id: str, after: str, block_ms: int | None) -> list[TextPiece]:
    try:
        return await aread_pieces(client, job_id, after, block_ms)
    except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
        # The pieces are a preview; the stored result, sent at the end, is the text of record.
        log.warning("job %s: text pieces unreadable (%s); retrying in %.0f s", job_id, exc, RECHECK_S)
        await asyncio.sleep(RECHECK_S)
        return []
