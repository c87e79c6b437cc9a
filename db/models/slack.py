"""Results waiting to be posted to Slack, one row per job that came from Slack."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, UTCDateTime, enum_column, utcnow


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class SlackDelivery(Base):
    __tablename__ = "slack_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Written with the job, in the same transaction, so a finished job always knows where to go.
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    channel: Mapped[str] = mapped_column(String(50))
    thread_ts: Mapped[str | None] = mapped_column(String(30), default=None)
    placeholder_ts: Mapped[str | None] = mapped_column(String(30), default=None)
    response_url: Mapped[str | None] = mapped_column(Text, default=None)
    user_id: Mapped[str | None] = mapped_column(String(50), default=None)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_ts: Mapped[str | None] = mapped_column(String(30), default=None)  # the posted answer
    # Set before the Slack streamer asks for a stream, cleared when it stores the stream's message as
    # the placeholder. Still set when the delivery posts: a message may have been created that nobody
    # stored (the streamer died in between, or a request timed out after Slack carried it out), and
    # the delivery removes it (workers/slack/stream_orphans.py).
    stream_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (Index("ix_slack_deliveries_status_created_at", "status", "created_at"),)
