"""Which of the three paths answers a customer's message: an approved answer, a generated one, or a
person. A pure decision over the intent model's prediction and the knowledge base's nearest entries,
so the worker and the evaluation command (cli/evaluate.py) route exactly alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.job_results import ReplyPath
from workers.knowledge.index import KnowledgeHit

OUT_OF_SCOPE = "out_of_scope"  # the intent model's label for "none of ours"
HANDOFF_INTENTS = frozenset({"contact_human_agent"})
# How many nearest entries routing looks at for one of the predicted intent, and how many a result
# shows as its sources.
SEARCH_DEPTH = 10
SOURCES_SHOWN = 3
# MiniLM cosine between the message and a stored question. Template: the nearest question of the
# predicted intent must be at least this close, so that an approved answer is about what was asked
# and not only of the same kind. Generation: the nearest question of any intent, below which nothing
# stored says what to answer. Chosen on held-out customer-support questions with
# `queuebot evaluate-replies` (docs/replies.md), against off-topic messages.
TEMPLATE_MIN_SCORE = 0.5
GENERATION_MIN_SCORE = 0.45


@dataclass(frozen=True)
class Route:
    path: ReplyPath
    reason: str
    answer: KnowledgeHit | None = None  # the approved answer, on the template path


def choose_route(intent: str, hits: Sequence[KnowledgeHit]) -> Route:
    """``intent``: the intent model's label (``OUT_OF_SCOPE`` below its calibrated confidence);
    ``hits``: the nearest knowledge-base entries, best first."""
    if intent in HANDOFF_INTENTS:
        return Route(ReplyPath.HANDOFF, "asked for a person")
    if intent != OUT_OF_SCOPE:
        answer = next((hit for hit in hits if hit.intent == intent), None)
        if answer is not None and answer.score >= TEMPLATE_MIN_SCORE:
            return Route(ReplyPath.TEMPLATE, f"an approved answer for {intent}", answer)
    if hits and hits[0].score >= GENERATION_MIN_SCORE:
        reason = (
            "out of scope for the intent model"
            if intent == OUT_OF_SCOPE
            else f"no approved answer close enough for {intent}"
        )
        return Route(ReplyPath.GENERATION, reason)
    if not hits:
        return Route(ReplyPath.HANDOFF, "the knowledge base is empty")
    return Route(ReplyPath.HANDOFF, "no confident answer")
