"""GET /api/jobs/{id}/events: a job's status, and the text it generates, as server-sent events.

The stream wakes when a worker announces a change on the job's Redis channel and then reads the job
from the database; it also rereads every ``RECHECK_S`` (and sends a comment that keeps proxies from
closing an idle stream), so an announcement lost while Redis restarted delays an update by seconds
and loses nothing.

A generation or reply job's text arrives as ``token`` events while it is decoded, read from the job's
Redis stream (core/job_text.py). Each carries the stream entry's id as the SSE ``id``, so a browser's
``EventSource`` that reconnects sends ``Last-Event-ID`` and gets the pieces after it; a follower that
connects late first gets the text so far. The job's final ``job`` event, with the stored result, comes
after every piece and is the text of record.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from bots.web.schemas import JobOut
from core import redis_keys
from core.job_text import START, TextPiece, aread_pieces
from core.jobs import JobKind
from core.settings import get_settings
from db import queries
from db.engine import new_session

router = APIRouter(tags=["jobs"])
log = logging.getLogger(__name__)

RECHECK_S = 5.0
# The kinds whose text is streamed while the job runs (a reply only on the generation path).
STREAMED_KINDS = frozenset({JobKind.GENERATE, JobKind.REPLY})


@router.get(
    "/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`job` events, each a JobOut; `token` events, each `{choice, text}` or "
            "`{reset: true}` (a new run: the text so far is void), with the stream position as `id`.",
        }
    },
)
async def job_events(
    job_id: str, request: Request, last_event_id: str | None = Header(default=None)
) -> StreamingResponse:
    """Sends the job now (``event: job``, the JobOut as data), the text generated so far and then as
    it is decoded (``event: token``), and the job again each time its status changes; ends after the
    event that shows it done or failed. Browsers follow it with ``EventSource``."""
    first = await run_in_threadpool(_load, job_id)
    if first is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} does not exist")
    follow_text = first.kind in STREAMED_KINDS and not first.status.is_final
    return StreamingResponse(
        _stream(job_id, request, follow_text, _resume_from(last_event_id)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _resume_from(last_event_id: str | None) -> str:
    """Where a reconnecting follower's pieces start: after the last one it saw, if that is a stream
    entry id (``<ms>-<seq>``); from the start otherwise."""
    if last_event_id:
        ms, _, seq = last_event_id.partition("-")
        if ms.isdigit() and seq.isdigit():
            return last_event_id
    return START


async def _stream(job_id: str, request: Request, follow_text: bool, after: str) -> AsyncIterator[str]:
    client = aioredis.from_url(get_settings().redis_url)
    pubsub = client.pubsub()
    waits: dict[str, asyncio.Task[object]] = {}
    try:
        # Subscribed before the first read, so a change between the two is not missed.
        await pubsub.subscribe(redis_keys.job_events_channel(job_id))
        sent: tuple[str, str | None] | None = None
        while True:
            job = await run_in_threadpool(_load, job_id)
            if job is None:  # deleted while watched
                return
            if job.status.is_final and follow_text:
                # Every piece before the final event: the pieces the worker sent before storing the result.
                for piece in await _pieces(client, job_id, after, block_ms=None):
                    after = piece.entry_id
                    yield _token_event(piece)
            if (job.status.value, str(job.finished_at)) != sent:
                sent = (job.status.value, str(job.finished_at))
                yield f"event: job\ndata: {job.model_dump_json()}\n\n"
            if job.status.is_final or await request.is_disconnected():
                return
            # Wait for an announcement (or RECHECK_S) and, meanwhile, pass on the pieces as they come.
            waits.setdefault("status", asyncio.create_task(_announcement(pubsub)))
            while True:
                if follow_text:
                    waits.setdefault(
                        "text", asyncio.create_task(_pieces(client, job_id, after, int(RECHECK_S * 1000)))
                    )
                done, _ = await asyncio.wait(waits.values(), return_when=asyncio.FIRST_COMPLETED)
                if waits.get("text") in done:
                    pieces = waits.pop("text").result()
                    assert isinstance(pieces, list)
                    for piece in pieces:
                        after = piece.entry_id
                        yield _token_event(piece)
                if waits["status"] in done:
                    if waits.pop("status").result() is None:
                        yield ": still waiting\n\n"
                    break
                if await request.is_disconnected():
                    return
    finally:
        for wait in waits.values():
            wait.cancel()
        await pubsub.aclose()
        await client.aclose()


def _token_event(piece: TextPiece) -> str:
    data = {"reset": True} if piece.reset else {"choice": piece.choice, "text": piece.text}
    return f"event: token\nid: {piece.entry_id}\ndata: {json.dumps(data)}\n\n"


async def _pieces(client: aioredis.Redis, job_id: str, after: str, block_ms: int | None) -> list[TextPiece]:
    try:
        return await aread_pieces(client, job_id, after, block_ms)
    except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
        # Redis away: the text is a preview, and the final event carries it all; wait, then try again.
        log.warning("job events: text pieces unreadable (%s); retrying in %.0f s", exc, RECHECK_S)
        await asyncio.sleep(RECHECK_S)
        return []


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
