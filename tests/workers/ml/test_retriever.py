import json
from pathlib import Path

import numpy as np
import pytest

from workers.ml.retriever import ReplyRetriever, top_k_indices
from workers.model_store import ModelStore


@pytest.fixture(scope="module")
def retriever(tiny_models_dir: Path) -> ReplyRetriever:
    model = ReplyRetriever.load(ModelStore(tiny_models_dir).folder("reply-retriever"), "cpu")
    model.warm_up()
    return model


def test_returns_k_hits_best_first_with_cosine_scores(retriever: ReplyRetriever) -> None:
    hits = retriever.search("I want my money back for the broken item", k=5)
    assert len(hits) == 5
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= score <= 1.0 for score in scores)
    assert all(hit.answer and hit.intent and hit.category for hit in hits)


def test_an_indexed_question_finds_itself_first_with_score_one(retriever: ReplyRetriever) -> None:
    entry = retriever.entries[17]
    best = retriever.search(entry["question"], k=1)[0]
    assert best.question == entry["question"]
    assert best.answer == entry["answer"]
    assert best.score == pytest.approx(1.0, abs=1e-4)


def test_k_beyond_the_index_size_returns_every_entry(retriever: ReplyRetriever) -> None:
    assert len(retriever.search("track my order", k=10_000)) == len(retriever.entries)


def test_k_below_one_is_rejected(retriever: ReplyRetriever) -> None:
    with pytest.raises(ValueError):
        retriever.search("track my order", k=0)


def test_index_covers_every_intent_of_the_data_set(tiny_models_dir: Path) -> None:
    lines = (ModelStore(tiny_models_dir).folder("reply-retriever") / "entries.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert len(entries) == 300
    assert len({entry["intent"] for entry in entries}) == 27
    assert set(entries[0]) == {"question", "answer", "intent", "category"}


def test_top_k_indices_orders_the_largest_scores_first() -> None:
    scores = np.array([0.1, 0.9, -0.5, 0.7, 0.3], dtype=np.float32)
    assert top_k_indices(scores, 3).tolist() == [1, 3, 4]
    assert top_k_indices(scores, 99).tolist() == [1, 3, 4, 0, 2]
