"""An item's topics: its own first, then every topic whose keywords it holds as whole words."""

from __future__ import annotations

import pytest

from workers.monitoring.topics import TopicRules

RULES = TopicRules({"refunds": ["refund", "money back"], "delays": ["delayed", "late"]})


def test_keywords_add_topics_after_the_items_own() -> None:
    assert RULES.topics_of("Flight delayed and I want a REFUND!", "United") == ["United", "refunds", "delays"]


def test_keywords_match_whole_words_and_phrases_only() -> None:
    assert RULES.topics_of("refunded already; latest news", "United") == ["United"]
    assert RULES.topics_of("I want my money back", "United") == ["United", "refunds"]


def test_an_item_whose_own_topic_is_a_keyword_topic_gets_it_once() -> None:
    assert RULES.topics_of("refund please", "refunds") == ["refunds"]


def test_a_topic_without_keywords_is_a_settings_error() -> None:
    with pytest.raises(ValueError, match="refunds"):
        TopicRules({"refunds": []})
