"""GET /api/jobs/{id}/events: a job's status, and the text it generates, as server-sent events.

The job is followed by bots/web/job_follower.py: woken by the worker's announcements, reread from the
database (the source of truth), and reread every few seconds without one, with a comment that keeps
proxies from closing an idle stream.

A generation or reply job's text arrives as ``token`` events while it is decoded, read from the job's
Redis stream (core/job_text.py). Each carries the stream entry's id as the SSE ``id``, so a browser's
``EventSource`` that reconnects sends ``Last-Event-ID`` and gets the pieces after it; a follower that
connects late first gets the text so far. The job's final ``job`` event, with the stored result, comes
after every piece and is the text of record.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from bots.not_found import found
from bots.web.job_follower import JobGone, follow, load_job
from core.job_text import START, STREAMED_KINDS, TextPiece

router = APIRouter(tags=["jobs"])


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
async def job_events(job_id: str, last_event_id: str | None = Header(default=None)) -> StreamingResponse:
    """Sends the job now (``event: job``, the JobOut as data), the text generated so far and then as
    it is decoded (``event: token``), and the job again each time its status changes; ends after the
    event that shows it done or failed. Browsers follow it with ``EventSource``."""
    first = found(await run_in_threadpool(load_job, job_id), f"job {job_id}")
    follow_text = first.kind in STREAMED_KINDS and not first.status.is_final
    return StreamingResponse(
        _stream(job_id, follow_text, _resume_from(last_event_id)),
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


async def _stream(job_id: str, follow_text: bool, after: str) -> AsyncIterator[str]:
    sent: tuple[str, str | None] | None = None
    try:
        async with aclosing(follow(job_id, text=follow_text, after=after)) as updates:
            async for update in updates:
                if update is None:
                    yield ": still waiting\n\n"  # keeps proxies from closing an idle stream
                elif isinstance(update, list):
                    yield "".join(_token_event(piece) for piece in update)  # one write for all of them
                elif (update.status.value, str(update.finished_at)) != sent:
                    sent = (update.status.value, str(update.finished_at))
                    yield f"event: job\ndata: {update.model_dump_json()}\n\n"
    except JobGone:
        return  # deleted while watched


def _token_event(piece: TextPiece) -> str:
    data = {"reset": True} if piece.reset else {"choice": piece.choice, "text": piece.text}
    return f"event: token\nid: {piece.entry_id}\ndata: {json.dumps(data)}\n\n"
