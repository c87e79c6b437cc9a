"""An item's topics: its own (from its source: a channel, a brand field, the API caller), every topic
whose keywords it contains (``QUEUEBOT_TOPIC_KEYWORDS``), and its predicted topic
(``topic_prediction.py``), each with where it came from."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from core.jobs import DEFAULT_TOPIC, TopicSource


class TopicRules:
    def __init__(self, keywords: Mapping[str, Sequence[str]]) -> None:
        for topic, words in keywords.items():
            if not words or any(not word.strip() for word in words):
                raise ValueError(f"topic {topic!r}: keywords must be a non-empty list of non-empty words")
        # Whole words or phrases, any case: "refund" matches "Refund!" but not "refunded".
        self._patterns = {
            topic: re.compile(
                r"\b(?:" + "|".join(re.escape(w.strip()) for w in words) + r")\b", re.IGNORECASE
            )
            for topic, words in keywords.items()
        }

    def topics_of(self, text: str, own_topic: str) -> list[str]:
        return list(self.sources_of(text, own_topic))

    def sources_of(
        self, text: str, own_topic: str | None, predicted_topic: str | None = None
    ) -> dict[str, TopicSource]:
        """Topic -> where it came from, in order: own, keywords, predicted. A topic found two ways
        keeps the first (an own topic the model also predicts stays "given"). With none of the three,
        the item is filed under DEFAULT_TOPIC, so that no item goes unseen."""
        sources: dict[str, TopicSource] = {}
        if own_topic is not None:
            sources[own_topic] = "given"
        for topic, pattern in self._patterns.items():
            if pattern.search(text):
                sources.setdefault(topic, "keyword")
        if predicted_topic is not None:
            sources.setdefault(predicted_topic, "predicted")
        if own_topic is None and not any(source == "predicted" for source in sources.values()):
            # Before topics were predicted, an item without a topic of its own was filed here; it
            # still is when the model is not sure, so a stream's volume is never lost from view.
            sources.setdefault(DEFAULT_TOPIC, "default")
        return sources


@lru_cache(maxsize=8)
def _rules(frozen: tuple[tuple[str, tuple[str, ...]], ...]) -> TopicRules:
    return TopicRules(dict(frozen))


def topic_rules(keywords: Mapping[str, Sequence[str]]) -> TopicRules:
    """The compiled rules for these settings, compiled once."""
    return _rules(tuple(sorted((topic, tuple(words)) for topic, words in keywords.items())))
