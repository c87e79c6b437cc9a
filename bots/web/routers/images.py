"""POST /api/images: an image job (handwritten digits from the conditional GAN); its PNGs."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status
from sqlalchemy import select

from bots.web.deps import SessionDep
from bots.web.routers._submission import JobSubmissionDep
from bots.web.schemas import JobOut
from core.jobs import MAX_IMAGES, ImagePayload, JobKind
from db import queries
from db.models import JobImage

router = APIRouter(tags=["images"])


@router.post("/images", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut)
def post_images(request: ImagePayload, submission: JobSubmissionDep) -> JobOut:
    """Queue a drawing of ``n`` handwritten digits; the result lists the URLs of their PNGs."""
    return JobOut.model_validate(submission.submit(JobKind.IMAGE, request))


@router.get(
    "/jobs/{job_id}/images/{index}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The image as a PNG."}},
)
def get_job_image(
    job_id: str, index: Annotated[int, Path(ge=0, lt=MAX_IMAGES)], session: SessionDep
) -> Response:
    """One image a finished image job drew (its result lists them all)."""
    image = session.scalar(select(JobImage).where(JobImage.job_id == job_id, JobImage.index == index))
    if image is None:
        job = queries.get_job(session, job_id)
        detail = f"job {job_id} has no image {index}" if job else f"job {job_id} does not exist"
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail)
    # A stored image never changes.
    return Response(image.png, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"})
