"""The suggestions stored with a reply: ranked for the conversation, recorded as an impression.

Computed by the worker as it writes the reply (the web process loads no model), and stored with the
reply in one transaction, so what the API and the click log say was shown is what the customer saw.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

import numpy as np

from core.job_results import Recommendations, SuggestedArticle
from core.settings import get_settings
from db.models import RecommendationImpression
from workers.knowledge.index import KnowledgeIndex
from workers.knowledge.message_vectors import embed_messages
from workers.recommendations.suggest import rank_catalogue
from workers.recommendations.vectors import conversation_vector, recent_texts
from workers.registry import ModelRegistry


def recommend(
    registry: ModelRegistry,
    index: KnowledgeIndex,
    *,
    job_id: str,
    conversation_id: int,
    customer_texts: Sequence[str],
    latest_vector: np.ndarray,
    exclude_entries: Collection[int],
    exclude_intents: Collection[str] = (),
) -> tuple[Recommendations, RecommendationImpression] | None:
    """The suggestions and their impression row, or None when nothing is to be shown."""
    settings = get_settings()
    if settings.recommendations_shown == 0:
        return None
    context = recent_texts(customer_texts)
    # The latest message is embedded already, for the knowledge base; the earlier ones were embedded
    # for their own replies, and are remembered (workers/knowledge/message_vectors.py).
    earlier = context[:-1]
    vectors = [*embed_messages(registry, earlier).result(), latest_vector] if earlier else [latest_vector]
    ranker = registry.recommendation_ranker()
    items = rank_catalogue(
        ranker,
        conversation_vector(np.stack(vectors), settings.recommendation_recency_decay),
        registry.recommendation_catalogue(index),
        shown=settings.recommendations_shown,
        exclude_entries=exclude_entries,
        exclude_intents=exclude_intents,
    )
    if not items:
        return None
    shown = Recommendations(
        impression_id=str(uuid.uuid4()),
        ranker=ranker.version,
        items=[SuggestedArticle(**vars(item)) for item in items],
    )
    impression = RecommendationImpression(
        id=shown.impression_id,
        job_id=job_id,
        conversation_id=conversation_id,
        ranker_version=ranker.version,
        context=context,
        items=[item.stored() for item in shown.items],
    )
    return shown, impression
