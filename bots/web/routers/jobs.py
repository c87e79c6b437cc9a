"""GET /api/jobs and /api/jobs/{id}: stored jobs, their status and results; feedback on answers."""

from fastapi import APIRouter

from bots.feedback import record_feedback
from bots.not_found import found
from bots.web.deps import CallerDep, SessionDep
from bots.web.routers._params import Limit, Offset
from bots.web.schemas import FeedbackOut, FeedbackRequest, JobOut, JobPage
from core.jobs import JobKind, JobSource, JobStatus
from db import queries

router = APIRouter(tags=["jobs"])


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: str, session: SessionDep) -> JobOut:
    return JobOut.model_validate(found(queries.get_job(session, job_id), f"job {job_id}"))


@router.get("/jobs", response_model=JobPage)
def list_jobs(
    session: SessionDep,
    kind: JobKind | None = None,
    status: JobStatus | None = None,
    source: JobSource | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> JobPage:
    """Newest first."""
    page = queries.list_jobs(session, kind=kind, status=status, source=source, limit=limit, offset=offset)
    return JobPage.of(page, JobOut.model_validate)


@router.post("/jobs/{job_id}/feedback", response_model=FeedbackOut)
def rate_job(job_id: str, body: FeedbackRequest, caller: CallerDep) -> FeedbackOut:
    """Thumbs up or down on a job's answer (the same vote as Slack's buttons)."""
    feedback = record_feedback(job_id, body.rating, caller.source, body.user)
    return FeedbackOut.model_validate(feedback)
