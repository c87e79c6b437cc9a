"""What a finished job stores as its result, one schema per kind: the other half of the job contract.

The workers build these and the job runner stores them as JSON (fields left unset are left out), so a
kind's result cannot drift from what the API, the web page and the Slack messages read.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from core.jobs import JobKind


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class ReplyPath(StrEnum):
    TEMPLATE = "template"  # an approved answer from the knowledge base
    GENERATION = "generation"  # written by the replies model from related answers
    HANDOFF = "handoff"  # a person answers


class ReplySource(_Result):
    entry_id: int
    question: str  # the stored variant nearest to the message
    intent: str
    category: str | None
    score: float  # cosine similarity


class GuardChanges(_Result):
    filled: dict[str, str]  # placeholder -> the value it got
    removed: list[str]  # identifiers taken out: the customer never gave them


class SuggestedArticle(_Result):
    entry_id: int  # a knowledge-base entry
    title: str
    score: float  # the ranker's: the cosine when untrained, the click probability when trained
    position: int  # from 1, as shown


class Recommendations(_Result):
    impression_id: str  # clicks are logged against it
    ranker: str  # the recommender's version, or "similarity" (untrained)
    items: list[SuggestedArticle]


class ReplyResult(_Result):
    reply: str
    path: ReplyPath
    reason: str
    handoff_reason: str | None = None  # set on the handoff path
    intent: str
    intent_confidence: float
    score: float | None  # the nearest knowledge-base entry's; None with an empty knowledge base
    sources: list[ReplySource]
    # model name -> version, and "knowledge" -> the encoder and the number of stored questions
    models: dict[str, Any]
    answer_entry_id: int | None = None  # template path
    guard: GuardChanges | None = None  # template and generation paths
    generated: str | None = None  # generation path: what the model wrote, before the guard
    grounding: float | None = None  # generation path, where the guard left text to measure
    recommendations: Recommendations | None = None  # related articles; not on the handoff path


class PredictedTopic(_Result):
    topic: str
    confidence: float  # calibrated
    used: bool  # whether it reached the model's confidence threshold and became one of the topics


class SentimentItemResult(_Result):
    topics: list[str]
    # topic -> "given", "keyword", "predicted" or "default" (absent in results stored before topics
    # were predicted)
    topic_sources: dict[str, str] = {}
    predicted_topic: PredictedTopic | None = None  # when the topic model ran on the item
    label: str
    scores: dict[str, float]  # label -> probability
    score: float  # p(positive) - p(negative)


class SentimentResult(_Result):
    count: int
    labels: dict[str, int]  # label -> items
    items: list[SentimentItemResult]
    topic_model: str | None = None  # name and version of the topic model, when it ran


class GenerateResult(_Result):
    texts: list[str]
    prompt_tokens_dropped: int  # from the start of a prompt longer than the model's context


class ImageResult(_Result):
    digit: int
    count: int
    seed: int  # the seed the noise came from: the one asked for, or a fresh one (to draw them again)
    # Where each PNG is served (GET /api/jobs/{id}/images/{k}.png); the bytes are in job_images.
    images: list[str]
    width: int  # pixels, after upscaling the model's 8x8 output (nearest neighbour)


JobResult = ReplyResult | SentimentResult | GenerateResult | ImageResult

RESULT_SCHEMAS: dict[JobKind, type[JobResult]] = {
    JobKind.REPLY: ReplyResult,
    JobKind.SENTIMENT: SentimentResult,
    JobKind.GENERATE: GenerateResult,
    JobKind.IMAGE: ImageResult,
}
