"""One classified item of a monitored stream."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime, utcnow


class SentimentObservation(Base):
    __tablename__ = "sentiment_observations"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    # Position in the job's batch: with job_id and topic it makes a redelivered job unable to insert
    # twice.
    item_index: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(String(100))
    # "given" (the item's own), "keyword", "predicted" (topic-news) or "default" (none of them)
    topic_source: Mapped[str] = mapped_column(String(20), default="given", server_default="given")
    # The topic model's calibrated confidence, for a predicted topic only
    topic_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(20))
    p_negative: Mapped[float] = mapped_column(Float)
    p_neutral: Mapped[float] = mapped_column(Float)
    p_positive: Mapped[float] = mapped_column(Float)
    # P(positive) - P(negative): one number per item that trends can average.
    score: Mapped[float] = mapped_column(Float)
    model_name: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # One row per topic of an item (its own and those its keywords add): trends are per topic.
        UniqueConstraint("job_id", "item_index", "topic"),
        Index("ix_sentiment_observations_topic_occurred_at", "topic", "occurred_at"),
        Index("ix_sentiment_observations_occurred_at", "occurred_at"),
        # Reports cover what arrived in a period.
        Index("ix_sentiment_observations_created_at", "created_at"),
    )
