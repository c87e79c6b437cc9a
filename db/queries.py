"""Read queries shared by the API and the bots. Writes live with the code that owns the state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from core.jobs import JobKind, JobSource, JobStatus
from db.models import (
    Alert,
    AlertStatus,
    Conversation,
    ConversationStatus,
    Feedback,
    Job,
    KnowledgeEntry,
    Rating,
    Report,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    limit: int
    offset: int


def _page(session: Session, query: Select[tuple[T]], limit: int, offset: int) -> Page[T]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = session.scalars(query.limit(limit).offset(offset)).all()
    return Page(items=items, total=total, limit=limit, offset=offset)


def get_job(session: Session, job_id: str) -> Job | None:
    return session.get(Job, job_id)


def get_job_by_idempotency_key(session: Session, key: str) -> Job | None:
    return session.scalar(select(Job).where(Job.idempotency_key == key))


def list_jobs(
    session: Session,
    *,
    kind: JobKind | None = None,
    status: JobStatus | None = None,
    source: JobSource | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[Job]:
    query = select(Job).order_by(Job.created_at.desc(), Job.id)
    if kind is not None:
        query = query.where(Job.kind == kind)
    if status is not None:
        query = query.where(Job.status == status)
    if source is not None:
        query = query.where(Job.source == source)
    return _page(session, query, limit, offset)


def list_alerts(
    session: Session,
    *,
    status: AlertStatus | None = None,
    topic: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[Alert]:
    query = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc())
    if status is not None:
        query = query.where(Alert.status == status)
    if topic is not None:
        query = query.where(Alert.topic == topic)
    return _page(session, query, limit, offset)


def list_reports(
    session: Session, *, topic: str | None = None, limit: int = 50, offset: int = 0
) -> Page[Report]:
    query = select(Report).order_by(Report.period_start.desc(), Report.topic, Report.id)
    if topic is not None:
        query = query.where(Report.topic == topic)
    return _page(session, query, limit, offset)


def get_conversation(session: Session, conversation_id: int) -> Conversation | None:
    """The conversation with all its messages loaded, oldest first."""
    return session.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id)
        .options(selectinload(Conversation.messages))
    )


def list_conversations(
    session: Session, *, status: ConversationStatus | None = None, limit: int = 50, offset: int = 0
) -> Page[Conversation]:
    """Most recently changed first: the conversation handed over last comes first."""
    query = select(Conversation).order_by(Conversation.updated_at.desc(), Conversation.id.desc())
    if status is not None:
        query = query.where(Conversation.status == status)
    return _page(session, query, limit, offset)


def feedback_with_jobs(session: Session, *, rating: Rating | None = None) -> list[tuple[Feedback, Job]]:
    """Every vote with the job it rates, oldest first (the export reads the question and the answer)."""
    query = select(Feedback, Job).join(Job, Feedback.job_id == Job.id).order_by(Feedback.id)
    if rating is not None:
        query = query.where(Feedback.rating == rating)
    return [(feedback, job) for feedback, job in session.execute(query)]


def list_knowledge(
    session: Session, *, intent: str | None = None, limit: int = 50, offset: int = 0
) -> Page[KnowledgeEntry]:
    query = select(KnowledgeEntry).order_by(KnowledgeEntry.id)
    if intent is not None:
        query = query.where(KnowledgeEntry.intent == intent)
    return _page(session, query, limit, offset)
