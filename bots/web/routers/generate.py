"""POST /api/generate: an asynchronous text-generation job."""

from fastapi import APIRouter, Response, status

from bots.gateway import submit_job
from bots.web.deps import CallerDep, SessionDep
from bots.web.routers._params import IdempotencyKey
from bots.web.schemas import JobOut
from core.jobs import GeneratePayload, JobKind

router = APIRouter(tags=["generation"])


@router.post("/generate", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut)
def post_generate(
    request: GeneratePayload,
    session: SessionDep,
    caller: CallerDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> JobOut:
    """Queue a generation; the generated texts arrive as the job's result."""
    job, created = submit_job(
        session, JobKind.GENERATE, request, caller.source, idempotency_key=idempotency_key
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return JobOut.model_validate(job)
