"""A /v1 request's job: submitted through the gateway like any other request, then waited for.

Submission is the REST API's (bots/gateway.py): the same queue bounds, the same stored job, the same
Idempotency-Key (a retry with the key gets the first job back and waits for it). The request's
database session lives only for the submission, so a request that waits holds no connection.
"""

from __future__ import annotations

import time
from contextlib import aclosing

from pydantic import BaseModel

from bots.gateway import submit_chat_message, submit_job
from bots.web.job_follower import follow
from bots.web.openai_api.errors import job_failed, while_waiting
from bots.web.schemas import JobOut
from core.jobs import JobKind, JobSource, JobStatus
from core.settings import get_settings
from db.engine import new_session


def deadline() -> float:
    """When a request that starts now stops waiting for its job (``time.monotonic()``)."""
    return time.monotonic() + get_settings().openai_wait_s


def submit(kind: JobKind, payload: BaseModel, source: JobSource, idempotency_key: str | None) -> JobOut:
    with new_session() as session:
        job, _created = submit_job(session, kind, payload, source, idempotency_key=idempotency_key)
        return JobOut.model_validate(job)


def submit_chat(
    text: str, source: JobSource, conversation_id: int | None, idempotency_key: str | None
) -> JobOut:
    with new_session() as session:
        job, _created = submit_chat_message(
            session, text, source, conversation_id=conversation_id, idempotency_key=idempotency_key
        )
        return JobOut.model_validate(job)


async def done_job(job_id: str, until: float) -> JobOut:
    """The job once it is done; an OpenAIError if it failed, vanished or outlasted the wait."""
    final: JobOut | None = None
    try:
        async with aclosing(follow(job_id, until)) as updates:
            async for update in updates:
                if isinstance(update, JobOut):
                    final = update  # the follower ends after the final row
    except Exception as exc:
        error = while_waiting(job_id, exc)
        if error is None:
            raise
        raise error from exc
    assert final is not None and final.status.is_final
    if final.status is JobStatus.FAILED:
        raise job_failed(final)
    return final
