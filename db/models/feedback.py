"""Thumbs up or down on a bot answer, one vote per person per answer (a new click replaces it)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.jobs import JobSource
from db.base import Base, UTCDateTime, enum_column, utcnow


class Rating(StrEnum):
    UP = "up"
    DOWN = "down"


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    rating: Mapped[Rating] = mapped_column(enum_column(Rating))
    source: Mapped[JobSource] = mapped_column(enum_column(JobSource))
    user_id: Mapped[str] = mapped_column(String(100))  # a Slack user id, or the web user
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("job_id", "source", "user_id"),)
