"""Alerts raised when negative sentiment on a topic spikes above its baseline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, LargeBinary, String, UniqueConstraint, exists
from sqlalchemy.orm import Mapped, column_property, mapped_column

from db.base import Base, UTCDateTime, enum_column, utcnow


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertChart(Base):
    """The trend chart (PNG) drawn when the alert was raised. A table of its own so that listing
    alerts never reads the images."""

    __tablename__ = "alert_charts"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True)
    png: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(100))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    metric: Mapped[str] = mapped_column(String(50))
    baseline: Mapped[float] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)
    # The most negative items of the window, so a reader sees why without another query.
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[AlertStatus] = mapped_column(enum_column(AlertStatus), default=AlertStatus.OPEN)
    # The alert's message in the Slack alerts channel, once posted: a redelivered post task sees it
    # and posts nothing more.
    slack_message_ts: Mapped[str | None] = mapped_column(String(30), default=None)
    # The trend chart uploaded into the alert's Slack thread, once uploaded (same reason).
    slack_chart_file_id: Mapped[str | None] = mapped_column(String(30), default=None)
    # Who moved the alert on, and when: the Slack user or the API caller's name.
    acknowledged_by: Mapped[str | None] = mapped_column(String(100), default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(100), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    has_chart: Mapped[bool] = column_property(exists().where(AlertChart.alert_id == id))

    __table_args__ = (
        Index("ix_alerts_status_created_at", "status", "created_at"),
        Index("ix_alerts_topic_created_at", "topic", "created_at"),
        # A spike is raised once, however many detector runs see its bucket.
        UniqueConstraint("topic", "metric", "window_start"),
    )
