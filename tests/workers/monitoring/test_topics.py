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


def test_each_topic_says_where_it_came_from_own_then_keywords_then_predicted() -> None:
    sources = RULES.sources_of("My refund is late", "United", "business")

    assert sources == {"United": "given", "refunds": "keyword", "delays": "keyword", "business": "predicted"}


def test_a_predicted_topic_the_item_already_has_stays_given() -> None:
    assert RULES.sources_of("refund please", "refunds", "refunds") == {"refunds": "given"}


def test_an_item_without_its_own_or_a_predicted_topic_is_filed_under_general() -> None:
    assert RULES.sources_of("The board meets on Tuesday", None) == {"general": "default"}
    assert RULES.sources_of("Where is my refund", None) == {"refunds": "keyword", "general": "default"}


def test_an_item_with_a_predicted_topic_and_none_of_its_own_is_not_filed_under_general() -> None:
    assert RULES.sources_of("Where is my refund", None, "business") == {
        "refunds": "keyword",
        "business": "predicted",
    }
