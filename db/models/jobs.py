"""The jobs table: the source of truth for every request, whatever Redis says."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import JSON, Index, Integer, String, Text, and_
from sqlalchemy.orm import Mapped, mapped_column

from core.jobs import JobKind, JobSource, JobStatus
from db.base import Base, UTCDateTime, enum_column, utcnow


class Job(Base):
    __tablename__ = "jobs"

    # The job id doubles as the Celery task id, so a message in Redis always names its row.
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid4()))
    kind: Mapped[JobKind] = mapped_column(enum_column(JobKind))
    status: Mapped[JobStatus] = mapped_column(enum_column(JobStatus), default=JobStatus.QUEUED)
    source: Mapped[JobSource] = mapped_column(enum_column(JobSource))
    input: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    model_name: Mapped[str | None] = mapped_column(String(100), default=None)
    model_version: Mapped[str | None] = mapped_column(String(100), default=None)
    # A client that retries a request with the same key gets the first job back, not a second one.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A sentiment batch's earliest item time. While the job is unfinished, spike detection leaves the
    # buckets from then on untested: their counts are not complete (workers/monitoring/spike_detection.py).
    events_from: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the job's latest message was sent to Redis, or was to be: the sweeper sends a queued job
    # again only when its message has been missing for a while since then.
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The worker process (host:pid) running the job; when it stops beating, the sweeper runs the job
    # again (workers/recovery/liveness.py).
    claimed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        Index("ix_jobs_kind_status_created_at", "kind", "status", "created_at"),
        Index("ix_jobs_status_created_at", "status", "created_at"),
        Index("ix_jobs_source_created_at", "source", "created_at"),
        Index("ix_jobs_created_at", "created_at"),
    )

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, kind={self.kind.value}, status={self.status.value})"


# A job not done or failed yet, in SQL. Two comparisons, not NOT IN: a list is an expanding parameter,
# rendered anew for every execution, and the job runner and a reply's turn run this for every job.
JOB_NOT_FINAL = and_(*(Job.status != status for status in JobStatus if status.is_final))
