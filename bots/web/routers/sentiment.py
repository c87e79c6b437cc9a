"""POST /api/sentiment: a batch of stream items becomes one sentiment job."""

from fastapi import APIRouter, Response, status

from bots.gateway import submit_job
from bots.web.deps import CallerDep, SessionDep
from bots.web.routers._params import IdempotencyKey
from bots.web.schemas import JobOut
from core.jobs import JobKind, SentimentPayload

router = APIRouter(tags=["sentiment"])


@router.post("/sentiment", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut)
def post_sentiment(
    request: SentimentPayload,
    session: SessionDep,
    caller: CallerDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> JobOut:
    """Classify a batch of items (text, topic, source, time); each is stored as an observation."""
    job, created = submit_job(
        session, JobKind.SENTIMENT, request, caller.source, idempotency_key=idempotency_key
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return JobOut.model_validate(job)
