"""Suggested articles: what was shown with each answer, in order and with scores, and every click.

The click log is the recommender's training data (``queuebot export clicks``), so an impression keeps
the conversation text it was ranked from and the titles it showed: the log stays readable after the
knowledge base changes. Items are knowledge-base entries, referred to by id without a foreign key,
so that deleting an entry keeps the clicks it got.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.jobs import JobSource
from db.base import Base, UTCDateTime, enum_column, utcnow


class RecommendationImpression(Base):
    __tablename__ = "recommendation_impressions"

    # Made by the worker (a UUID) so the reply's result can name it before the row is stored with it.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    ranker_version: Mapped[str] = mapped_column(String(100))  # "similarity" when no ranker is trained
    # The customer's messages the conversation's interest was read from, oldest first.
    context: Mapped[list[str]] = mapped_column(JSON)
    # What was shown, best first: [{"entry_id", "title", "score", "position"}], position from 1.
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    clicks: Mapped[list[RecommendationClick]] = relationship(
        back_populates="impression", order_by="RecommendationClick.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_recommendation_impressions_conversation_id_created_at", "conversation_id", "created_at"),
    )


class RecommendationClick(Base):
    """One click on one suggestion; every click is kept (two clicks are two rows)."""

    __tablename__ = "recommendation_clicks"

    id: Mapped[int] = mapped_column(primary_key=True)
    impression_id: Mapped[str] = mapped_column(
        # Named here: the convention's name would pass PostgreSQL's 63-character limit.
        ForeignKey(
            "recommendation_impressions.id", ondelete="CASCADE", name="fk_recommendation_clicks_impression"
        ),
        index=True,
    )
    entry_id: Mapped[int]
    position: Mapped[int]  # where it was shown, from 1
    source: Mapped[JobSource] = mapped_column(enum_column(JobSource))
    user_id: Mapped[str] = mapped_column(String(100))  # a Slack user id, or the web user
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    impression: Mapped[RecommendationImpression] = relationship(back_populates="clicks")
