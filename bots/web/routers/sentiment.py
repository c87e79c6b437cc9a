"""POST /api/sentiment: a batch of stream items becomes one sentiment job."""

from fastapi import APIRouter, status

from bots.web.routers._submission import JobSubmissionDep
from bots.web.schemas import JobOut
from core.jobs import JobKind, SentimentPayload

router = APIRouter(tags=["sentiment"])


@router.post("/sentiment", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut)
def post_sentiment(request: SentimentPayload, submission: JobSubmissionDep) -> JobOut:
    """Classify a batch of items (text, topic, source, time); each is stored as an observation."""
    return JobOut.model_validate(submission.submit(JobKind.SENTIMENT, request))
