"""GET /api/jobs and /api/jobs/{id}: stored jobs, their status and results."""

from fastapi import APIRouter, HTTPException, status

from bots.web.deps import SessionDep
from bots.web.routers._params import Limit, Offset
from bots.web.schemas import JobOut, JobPage
from core.jobs import JobKind, JobSource, JobStatus
from db import queries

router = APIRouter(tags=["jobs"])


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: str, session: SessionDep) -> JobOut:
    job = queries.get_job(session, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} does not exist")
    return JobOut.model_validate(job)


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
    return JobPage(
        items=[JobOut.model_validate(job) for job in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )
