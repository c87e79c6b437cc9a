"""OpenAI's server-sent events: ``data: {chunk}`` frames, comments while nothing happens, ``data: [DONE]``.

A stream has already answered 200 when its job fails or its wait runs out, so those end it with a
data frame holding OpenAI's error object, then ``[DONE]`` (as vLLM does): the openai package raises
APIError on a frame with an ``error`` key, with the message, which names the job. Comments (``: ...``)
every few seconds while the job waits keep proxies from closing a quiet stream; SSE clients skip them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

from fastapi.responses import StreamingResponse

from bots.web.openai_api.errors import OpenAIError, while_waiting
from bots.web.schemas import JobOut

log = logging.getLogger(__name__)

DONE = "data: [DONE]\n\n"
KEEP_ALIVE = ": waiting for the job\n\n"


def frame(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def head(job: JobOut, prefix: str, model: str, object_name: str) -> dict[str, Any]:
    """The fields every chunk of a response repeats; the id is the job's, so either names the other."""
    return {
        "id": f"{prefix}-{job.id}",
        "object": object_name,
        "created": int(job.created_at.timestamp()),
        "model": model,
    }


def fingerprint(job: JobOut) -> str | None:
    return f"{job.model_name}:{job.model_version}" if job.model_name else None


def sse_response(job_id: str, events: AsyncGenerator[str, None]) -> StreamingResponse:
    return StreamingResponse(
        _ending_in_an_error_frame(job_id, events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _ending_in_an_error_frame(job_id: str, events: AsyncGenerator[str, None]) -> AsyncIterator[str]:
    try:
        async with aclosing(events):
            async for event in events:
                yield event
    except Exception as exc:
        error = while_waiting(job_id, exc)
        if error is None:
            log.exception("job %s: its stream failed", job_id)
            error = OpenAIError(
                500, f"the stream of job {job_id} failed; its result will be at /api/jobs/{job_id}"
            )
        yield error.frame()
        yield DONE
