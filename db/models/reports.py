"""Periodic monitoring reports: per topic and period, what arrived and how it compares."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime, utcnow


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(100))
    # The items that arrived (were stored) in [period_start, period_end).
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    volume: Mapped[int] = mapped_column(Integer)
    negatives: Mapped[int] = mapped_column(Integer)
    neutrals: Mapped[int] = mapped_column(Integer)
    positives: Mapped[int] = mapped_column(Integer)
    mean_score: Mapped[float] = mapped_column(Float)
    # The same figures for the period before (volume, negative_share, mean_score), or None when
    # nothing arrived then: what the changes are measured against.
    previous: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    alerts_raised: Mapped[int] = mapped_column(Integer)
    # The most negative items of the period, as an alert's evidence is stored.
    top_negative: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Words the period's negative items use most, and the summary written from all of the above.
    key_terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    summary: Mapped[str] = mapped_column(Text)
    slack_message_ts: Mapped[str | None] = mapped_column(String(30), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # One report per topic and period, however many beat ticks or workers ask for it.
        UniqueConstraint("topic", "period_start", "period_end"),
        Index("ix_reports_created_at", "created_at"),
    )

    @property
    def negative_share(self) -> float:
        return self.negatives / self.volume if self.volume else 0.0
