"""POST /api/generate: an asynchronous text-generation job."""

from fastapi import APIRouter, status

from bots.web.routers._submission import JobSubmissionDep
from bots.web.schemas import JobOut
from core.jobs import GeneratePayload, JobKind

router = APIRouter(tags=["generation"])


@router.post("/generate", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut)
def post_generate(request: GeneratePayload, submission: JobSubmissionDep) -> JobOut:
    """Queue a generation; the generated texts arrive as the job's result."""
    return JobOut.model_validate(submission.submit(JobKind.GENERATE, request))
