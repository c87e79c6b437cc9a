"""The recommender's parts on plain vectors: the conversation's interest, the choice of what to show,
the ranker's weights on disk, and the click model learning a stated preference (no stack needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.recommender.fit import ImpressionVectors, fit_ranker, mean_reciprocal_rank
from workers.recommendations.catalogue import Catalogue
from workers.recommendations.ranker import Ranker
from workers.recommendations.suggest import rank_catalogue
from workers.recommendations.vectors import conversation_vector, item_vector

DIMENSION = 8


def axis(number: int, dimension: int = DIMENSION) -> np.ndarray:
    vector = np.zeros(dimension, dtype=np.float32)
    vector[number] = 1.0
    return vector


def unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def test_the_latest_message_weighs_most_in_the_conversations_interest() -> None:
    mixed = conversation_vector(np.stack([axis(0), axis(1)]), decay=0.5)

    assert mixed[1] > mixed[0] > 0  # the older message still counts, half as much
    assert np.isclose(np.linalg.norm(mixed), 1.0)
    assert np.allclose(conversation_vector(np.stack([axis(0), axis(1)]), decay=1.0)[:2], unit(np.ones(2)))
    with pytest.raises(ValueError, match="at least one message"):
        conversation_vector(np.zeros((0, DIMENSION)), decay=0.5)


def test_an_articles_vector_is_the_mean_direction_of_its_questions() -> None:
    assert np.allclose(item_vector(np.stack([axis(0), axis(1)])), unit(axis(0) + axis(1)))


def test_suggestions_leave_out_the_answer_and_its_intent_and_show_one_article_per_intent() -> None:
    catalogue = Catalogue(
        entry_ids=[1, 2, 3, 4, 5, 6],
        titles=["a1", "a2", "b1", "b2", "c1", "d1"],
        intents=["a", "a", "b", "b", "c", "d"],
        vectors=np.stack([unit(axis(0) + w * axis(1)) for w in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)]),
    )

    shown = rank_catalogue(
        Ranker.similarity(), axis(0), catalogue, shown=3, exclude_entries={1}, exclude_intents={"a"}
    )

    assert [(s.entry_id, s.position) for s in shown] == [(3, 1), (5, 2), (6, 3)]
    assert shown[0].score > shown[1].score > shown[2].score
    assert rank_catalogue(Ranker.similarity(), axis(0), catalogue, shown=0) == []


def test_a_trained_ranker_is_stored_and_loaded_whole(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ranker = Ranker("clicks-1", 1.5, rng.standard_normal((DIMENSION, DIMENSION)).astype(np.float32), -0.25)

    ranker.save(tmp_path)
    loaded = Ranker.load(tmp_path, "clicks-1")

    conversation, items = unit(rng.standard_normal(DIMENSION)), rng.standard_normal((4, DIMENSION))
    assert np.allclose(loaded.scores(conversation, items), ranker.scores(conversation, items))
    assert (
        loaded.trained
        and 0 < loaded.scores(conversation, items).min() <= loaded.scores(conversation, items).max() < 1
    )


def test_the_click_model_learns_that_one_kind_of_conversation_opens_an_article_similarity_ranks_last() -> (
    None
):
    # Stated preference: conversations near axis 0 open the article on axis 5, which is the farthest
    # of the three they are shown; conversations near axis 1 open the nearest one.
    shown = np.stack([unit(axis(0) + 0.3 * axis(2)), unit(axis(0) + 0.3 * axis(3)), axis(5)])
    other = np.stack([unit(axis(1) + 0.2 * axis(2)), unit(axis(1) + 0.6 * axis(3)), axis(5)])
    rng = np.random.default_rng(1)

    def impressions(count: int) -> list[ImpressionVectors]:
        made = []
        for _ in range(count):
            noise = 0.1 * rng.standard_normal(DIMENSION).astype(np.float32)
            made.append(ImpressionVectors(unit(axis(0) + noise), shown, np.array([False, False, True])))
            made.append(ImpressionVectors(unit(axis(1) + noise), other, np.array([True, False, False])))
        return made

    train, valid = impressions(20), impressions(5)
    ranker = fit_ranker(train, l2=1e-3, version="test", seed=0)

    assert mean_reciprocal_rank(Ranker.similarity(), valid) < 0.7
    assert mean_reciprocal_rank(ranker, valid) == 1.0
