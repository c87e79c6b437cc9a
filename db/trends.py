"""Sentiment trends: per topic and time bucket, the volume, the negatives and the mean score.

Read by the API (charts) and by the spike detector (its baseline), so both see the same numbers. The
bucketing runs in the database; SQLite and Postgres name it differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from core.monitoring import Bucket
from db.models import SentimentObservation

_SQLITE_FORMATS = {
    Bucket.MINUTE: "%Y-%m-%d %H:%M:00",
    Bucket.HOUR: "%Y-%m-%d %H:00:00",
    Bucket.DAY: "%Y-%m-%d 00:00:00",
}


@dataclass(frozen=True)
class TrendPoint:
    bucket_start: datetime
    volume: int
    negatives: int
    mean_score: float  # mean of P(positive) - P(negative)

    @property
    def negative_share(self) -> float:
        return self.negatives / self.volume if self.volume else 0.0


@dataclass(frozen=True)
class TopicSummary:
    topic: str
    volume: int
    negatives: int
    first_at: datetime
    last_at: datetime
    predicted: int = 0  # observations that got this topic from the topic model


def _bucket_start(session: Session, bucket: Bucket) -> ColumnElement[Any]:
    column = SentimentObservation.occurred_at
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return func.strftime(_SQLITE_FORMATS[bucket], column)
    if dialect == "postgresql":
        return func.date_trunc(bucket.value, func.timezone("UTC", column))
    raise NotImplementedError(f"trends need SQLite or Postgres, not {dialect}")


def _as_utc(value: str | datetime) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def trend(
    session: Session,
    topic: str,
    bucket: Bucket,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[TrendPoint]:
    """The topic's buckets that hold items, oldest first; ``since`` inclusive, ``until`` exclusive."""
    start = _bucket_start(session, bucket).label("bucket_start")
    negative = case((SentimentObservation.label == "negative", 1), else_=0)
    query = (
        select(start, func.count(), func.sum(negative), func.avg(SentimentObservation.score))
        .where(SentimentObservation.topic == topic)
        .group_by(start)
        .order_by(start)
    )
    if since is not None:
        query = query.where(SentimentObservation.occurred_at >= since)
    if until is not None:
        query = query.where(SentimentObservation.occurred_at < until)
    return [
        TrendPoint(_as_utc(bucket_start), int(volume), int(negatives or 0), float(mean_score or 0.0))
        for bucket_start, volume, negatives, mean_score in session.execute(query)
    ]


def topics(session: Session) -> list[TopicSummary]:
    """Every topic with observations, the busiest first."""
    negative = case((SentimentObservation.label == "negative", 1), else_=0)
    predicted = case((SentimentObservation.topic_source == "predicted", 1), else_=0)
    volume = func.count().label("volume")
    query = (
        select(
            SentimentObservation.topic,
            volume,
            func.sum(negative),
            func.min(SentimentObservation.occurred_at),
            func.max(SentimentObservation.occurred_at),
            func.sum(predicted),
        )
        .group_by(SentimentObservation.topic)
        .order_by(volume.desc(), SentimentObservation.topic)
    )
    return [
        TopicSummary(topic, int(count), int(negatives or 0), _as_utc(first), _as_utc(last), int(guessed or 0))
        for topic, count, negatives, first, last, guessed in session.execute(query)
    ]


@dataclass(frozen=True)
class SentimentMix:
    """What arrived on one topic in a period."""

    volume: int
    negatives: int
    neutrals: int
    positives: int
    mean_score: float

    @property
    def negative_share(self) -> float:
        return self.negatives / self.volume if self.volume else 0.0


def arrived_by_topic(session: Session, since: datetime, until: datetime) -> dict[str, SentimentMix]:
    """Per topic, the items stored in [since, until): the periods reports cover."""
    label = SentimentObservation.label
    query = (
        select(
            SentimentObservation.topic,
            func.count(),
            *(func.sum(case((label == name, 1), else_=0)) for name in ("negative", "neutral", "positive")),
            func.avg(SentimentObservation.score),
        )
        .where(SentimentObservation.created_at >= since, SentimentObservation.created_at < until)
        .group_by(SentimentObservation.topic)
    )
    return {
        topic: SentimentMix(int(volume), int(neg or 0), int(neu or 0), int(pos or 0), float(mean or 0.0))
        for topic, volume, neg, neu, pos, mean in session.execute(query)
    }


def most_negative(
    session: Session, topic: str, since: datetime, until: datetime, limit: int, *, arrived: bool = False
) -> list[SentimentObservation]:
    """The topic's items in [since, until) most surely negative: an alert's evidence, or with
    ``arrived`` (stored rather than happened in the period) a report's."""
    moment = SentimentObservation.created_at if arrived else SentimentObservation.occurred_at
    return list(
        session.scalars(
            select(SentimentObservation)
            .where(SentimentObservation.topic == topic, moment >= since, moment < until)
            .order_by(SentimentObservation.p_negative.desc(), SentimentObservation.id)
            .limit(limit)
        )
    )


def as_evidence(item: SentimentObservation) -> dict[str, Any]:
    """How an item is kept as the evidence of an alert or a report: enough to read it and find it."""
    return {
        "observation_id": item.id,
        "text": item.text,
        "source": item.source,
        "p_negative": round(item.p_negative, 4),
        "occurred_at": item.occurred_at.isoformat(),
        # Whether the item is on the topic because the topic model said so, and how sure it was.
        "topic_source": item.topic_source,
        "topic_confidence": None if item.topic_confidence is None else round(item.topic_confidence, 4),
    }
