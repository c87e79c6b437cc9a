"""GET /api/topics and GET /api/trends: what monitoring has seen, per topic and time bucket."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from bots.web.deps import SessionDep
from bots.web.schemas import TopicOut, TrendOut, TrendPointOut
from core.jobs import NoNul
from core.monitoring import Bucket
from db import trends

router = APIRouter(tags=["monitoring"])


@router.get("/topics", response_model=list[TopicOut])
def list_topics(session: SessionDep) -> list[TopicOut]:
    """Every topic with observations, the busiest first."""
    return [
        TopicOut(
            topic=summary.topic,
            volume=summary.volume,
            negatives=summary.negatives,
            negative_share=summary.negatives / summary.volume,
            first_at=summary.first_at,
            last_at=summary.last_at,
            predicted=summary.predicted,
        )
        for summary in trends.topics(session)
    ]


@router.get("/trends", response_model=TrendOut)
def get_trend(
    session: SessionDep,
    topic: Annotated[str, Query(min_length=1, max_length=100), NoNul],
    bucket: Bucket = Bucket.HOUR,
    since: Annotated[AwareDatetime | None, Query(description="Inclusive; ISO 8601 with a time zone.")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Exclusive; ISO 8601 with a time zone.")] = None,
) -> TrendOut:
    """Per bucket that holds items, oldest first: volume, negatives, negative share, mean score
    (P(positive) - P(negative)). Empty buckets are left out."""
    points = trends.trend(session, topic, bucket, since=since, until=until)
    return TrendOut(
        topic=topic,
        bucket=bucket,
        points=[
            TrendPointOut(
                bucket_start=point.bucket_start,
                volume=point.volume,
                negatives=point.negatives,
                negative_share=point.negative_share,
                mean_score=point.mean_score,
            )
            for point in points
        ],
    )
