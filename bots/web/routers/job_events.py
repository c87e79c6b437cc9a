"""GET /api/jobs/{id}/events: a job's status as server-sent events, until it is done or failed.

The stream wakes when a worker announces a change on the job's Redis channel (core/job_events.py)
and then reads the job from the database; it also rereads every ``RECHECK_S`` (and sends a comment
that keeps proxies from closing an idle stream), so an announcement lost while Redis restarted
delays an update by seconds and loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from bots.web.schemas import JobOut
from core import redis_keys
from core.settings import get_settings
from db import queries
from db.engine import new_session

router = APIRouter(tags=["jobs"])
log = logging.getLogger(__name__)

RECHECK_S = 5.0


@router.get(
    "/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "`job` events, each a JobOut."}},
)
async def job_events(job_id: str, request: Request) -> StreamingResponse:
    """Sends the job now (``event: job``, the JobOut as data), then each time its status changes, and
    ends after the event that shows it done or failed. Browsers follow it with ``EventSource``."""
    first = await run_in_threadpool(_load, job_id)
    if first is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} does not exist")
    return StreamingResponse(
        _stream(job_id, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(job_id: str, request: Request) -> AsyncIterator[str]:
    client = aioredis.from_url(get_settings().redis_url)
    pubsub = client.pubsub()
    try:
        # Subscribed before the first read, so a change between the two is not missed.
        await pubsub.subscribe(redis_keys.job_events_channel(job_id))
        sent: tuple[str, str | None] | None = None
        while True:
            job = await run_in_threadpool(_load, job_id)
            if job is None:  # deleted while watched
                return
            if (job.status.value, str(job.finished_at)) != sent:
                sent = (job.status.value, str(job.finished_at))
                yield f"event: job\ndata: {job.model_dump_json()}\n\n"
            if job.status.is_final or await request.is_disconnected():
                return
            if await _announcement(pubsub) is None:
                yield ": still waiting\n\n"
    finally:
        await pubsub.aclose()
        await client.aclose()


async def _announcement(pubsub: aioredis.client.PubSub) -> object | None:
    try:
        return await pubsub.get_message(ignore_subscribe_messages=True, timeout=RECHECK_S)
    except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
        # Redis away: fall back to rereading the database at the same pace until it is back.
        log.warning("job events: Redis unreachable (%s); rereading the job every %.0f s", exc, RECHECK_S)
        await asyncio.sleep(RECHECK_S)
        return None


def _load(job_id: str) -> JobOut | None:
    with new_session() as session:
        job = queries.get_job(session, job_id)
        return None if job is None else JobOut.model_validate(job)
