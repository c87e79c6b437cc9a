"""An item's topics: its own (from its source: a channel, a brand field, the API caller), and every
topic whose keywords it contains (``QUEUEBOT_TOPIC_KEYWORDS``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache


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
        matched = [topic for topic, pattern in self._patterns.items() if pattern.search(text)]
        return list(dict.fromkeys([own_topic, *matched]))


@lru_cache(maxsize=8)
def _rules(frozen: tuple[tuple[str, tuple[str, ...]], ...]) -> TopicRules:
    return TopicRules(dict(frozen))


def topic_rules(keywords: Mapping[str, Sequence[str]]) -> TopicRules:
    """The compiled rules for these settings, compiled once."""
    return _rules(tuple(sorted((topic, tuple(words)) for topic, words in keywords.items())))
