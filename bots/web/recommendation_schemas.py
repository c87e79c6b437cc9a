"""Bodies of /api/recommendations: the suggestions shown in a conversation, and a click on one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.job_results import SuggestedArticle
from core.jobs import MAX_ROW_ID, JobSource, NoNul


class RecommendationsOut(BaseModel):
    conversation_id: int
    # None (and no items) until a reply in the conversation has suggested something.
    impression_id: str | None
    job_id: str | None = Field(description="The reply the suggestions were shown with.")
    ranker: str | None = Field(description="The recommender's version, or 'similarity' (untrained).")
    created_at: datetime | None
    items: list[SuggestedArticle] = Field(description="Best first, as shown, with the ranker's scores.")


class ClickRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entry_id: int = Field(ge=1, le=MAX_ROW_ID, description="The suggested article that was opened.")
    user: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul] = (
        Field(default="web", description="Who clicked.")
    )


class ArticleOut(BaseModel):
    entry_id: int
    title: str
    text: str | None = Field(description="The article, made safe to show; null if it was deleted since.")


class ClickOut(BaseModel):
    id: int
    impression_id: str
    entry_id: int
    position: int
    source: JobSource
    user_id: str
    article: ArticleOut
