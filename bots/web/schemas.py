"""Request and response bodies of the REST API (job payloads themselves live in core.jobs)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field

from core.jobs import MAX_MESSAGE_CHARS, MAX_ROW_ID, JobKind, JobSource, JobStatus, NoNul
from core.monitoring import Bucket
from db.models import AlertStatus, ConversationStatus, KnowledgeEntry, MessageRole, Rating
from db.queries import Page

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul]


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE_CHARS), NoNul
    ]
    conversation_id: int | None = Field(
        default=None, ge=1, le=MAX_ROW_ID, description="Continue this conversation; omit to start one."
    )


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: JobKind
    status: JobStatus
    source: JobSource
    input: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    model_name: str | None
    model_version: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ChatAccepted(BaseModel):
    conversation_id: int
    message_id: int
    job: JobOut


class _Page(BaseModel):
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, page: Page[Any], convert: Callable[[Any], BaseModel]) -> Self:
        """A page of rows from ``db.queries`` as this response, each row converted by ``convert``."""
        return cls(
            items=[convert(row) for row in page.items], total=page.total, limit=page.limit, offset=page.offset
        )


class JobPage(_Page):
    items: list[JobOut]


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    topic: str
    window_start: datetime
    window_end: datetime
    metric: str
    baseline: float
    value: float
    evidence: list[dict[str, Any]]
    status: AlertStatus
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    has_chart: bool = Field(exclude=True)

    @computed_field(description="The trend chart drawn when the alert was raised (PNG); null if none.")
    @property
    def chart_url(self) -> str | None:
        return f"/api/alerts/{self.id}/chart.png" if self.has_chart else None


class AlertPage(_Page):
    items: list[AlertOut]


class ReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    topic: str
    period_start: datetime
    period_end: datetime
    volume: int
    negatives: int
    neutrals: int
    positives: int
    negative_share: float
    mean_score: float
    previous: dict[str, Any] | None = Field(
        description="volume, negative_share and mean_score of the period before; null when it had none."
    )
    alerts_raised: int
    top_negative: list[dict[str, Any]]
    key_terms: list[str]
    summary: str
    created_at: datetime


class ReportPage(_Page):
    items: list[ReportOut]


class AlertStatusRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: ShortText = Field(default="web API", description="Who moves the alert on; stored on the alert.")


class AlertStatusOut(BaseModel):
    alert_id: int
    status: AlertStatus = Field(description="The alert's status after the call.")
    changed: bool = Field(
        description="False when the move did not apply: already done, or the alert is further along."
    )


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Rating
    user: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul] = (
        Field(default="web", description="Who votes; one vote per user per answer, a new vote replaces it.")
    )


class FeedbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    job_id: str
    rating: Rating
    source: JobSource
    user_id: str
    updated_at: datetime


Question = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE_CHARS), NoNul
]


class KnowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intent: ShortText
    answer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), NoNul]
    questions: list[Question] = Field(min_length=1, max_length=200, description="Ways customers ask for it.")
    category: ShortText | None = None
    tags: list[ShortText] = Field(default_factory=list, max_length=50)


class KnowledgeQuestionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    text: str
    embedded: bool = Field(description="Searchable: the worker has embedded it.")


class KnowledgeOut(BaseModel):
    id: int
    intent: str
    answer: str
    category: str | None
    tags: list[str]
    source: str
    questions: list[KnowledgeQuestionOut]
    updated_at: datetime

    @classmethod
    def of(cls, entry: KnowledgeEntry) -> KnowledgeOut:
        return cls(
            id=entry.id,
            intent=entry.intent,
            answer=entry.answer,
            category=entry.category,
            tags=entry.tags,
            source=entry.source,
            questions=[
                KnowledgeQuestionOut(text=q.text, embedded=q.embedding is not None) for q in entry.questions
            ],
            updated_at=entry.updated_at,
        )


class KnowledgePage(_Page):
    items: list[KnowledgeOut]


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    role: MessageRole
    text: str
    job_id: str | None = Field(description="User message: the reply job it started. Bot message: its job.")
    created_at: datetime


class ConversationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source: JobSource = Field(description="Where it came from: slack, web or api.")
    external_id: str | None = Field(
        description="Its address outside queuebot; for a Slack thread, 'channel:thread_ts'."
    )
    status: ConversationStatus = Field(description="'handoff' while it waits for a person.")
    created_at: datetime
    updated_at: datetime
    messages: list[MessageOut] = Field(description="Oldest first.")


class ConversationSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source: JobSource
    external_id: str | None
    status: ConversationStatus
    created_at: datetime
    updated_at: datetime = Field(description="When it last changed, e.g. was handed over.")


class ConversationPage(_Page):
    items: list[ConversationSummary]


class ResumeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: ShortText | None = Field(default=None, description="Who hands it back; written to the log.")


class ResumeOut(BaseModel):
    conversation_id: int
    status: ConversationStatus
    changed: bool = Field(description="False when the conversation was already with the bot.")


class TopicOut(BaseModel):
    topic: str
    volume: int
    negatives: int
    negative_share: float
    first_at: datetime
    last_at: datetime
    predicted: int = Field(
        default=0, description="Of the volume, the observations whose topic the topic model predicted"
    )


class TrendPointOut(BaseModel):
    bucket_start: datetime
    volume: int
    negatives: int
    negative_share: float
    mean_score: float = Field(description="Mean of P(positive) - P(negative), in [-1, 1].")


class TrendOut(BaseModel):
    topic: str
    bucket: Bucket
    points: list[TrendPointOut]
