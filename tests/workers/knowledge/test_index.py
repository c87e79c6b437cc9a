"""Nearest-question search over the stored knowledge base (faiss over the MiniLM embeddings)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.engine import session_scope
from workers.knowledge.embedding import KB_ENCODER_NAME, embed_pending_questions, load_kb_encoder
from workers.knowledge.index import KnowledgeIndex, knowledge_version
from workers.knowledge.sources import KnowledgeItem, read_source
from workers.knowledge.store import store_items
from workers.ml.embedding import SentenceEncoder

pytestmark = pytest.mark.usefixtures("database")
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_kb_encoder("cpu")


@pytest.fixture(scope="module")
def stored_fixtures(encoder: SentenceEncoder) -> Iterator[None]:
    with session_scope() as session:
        for source in ("support.csv", "answers.jsonl", "articles"):
            store_items(session, read_source(FIXTURES / source), source)
    with session_scope() as session:
        embed_pending_questions(session, encoder, KB_ENCODER_NAME)
    yield


def _index(encoder: SentenceEncoder) -> KnowledgeIndex:
    with session_scope() as session:
        return KnowledgeIndex.build(session, encoder, KB_ENCODER_NAME)


@pytest.mark.usefixtures("stored_fixtures")
@pytest.mark.parametrize(
    ("query", "intent"),
    [
        ("I need to update the address you deliver to", "change_shipping_address"),
        ("how many days until my package gets here", "delivery_period"),
        ("please let me speak with a real human", "contact_human_agent"),
        ("I'd like to call off my order", "cancel_order"),
    ],
)
def test_a_customer_question_finds_the_entry_that_answers_it(
    encoder: SentenceEncoder, query: str, intent: str
) -> None:
    [best, *_] = _index(encoder).search(query, k=3)

    assert best.intent == intent
    assert 0.3 < best.score <= 1.0


@pytest.mark.usefixtures("stored_fixtures")
def test_hits_are_distinct_entries_best_first(encoder: SentenceEncoder) -> None:
    hits = _index(encoder).search("cancel my order", k=3)

    assert len({hit.entry_id for hit in hits}) == len(hits) == 3
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


@pytest.mark.usefixtures("stored_fixtures")
def test_the_version_changes_when_questions_are_added_and_the_new_index_finds_them(
    encoder: SentenceEncoder,
) -> None:
    intent = f"loyalty-{uuid.uuid4().hex[:6]}"
    with session_scope() as session:
        before = knowledge_version(session, KB_ENCODER_NAME)
        store_items(
            session, [KnowledgeItem(intent, "Members collect points.", ("how do loyalty points work",))], "t"
        )
    with session_scope() as session:
        embed_pending_questions(session, encoder, KB_ENCODER_NAME)
        after = knowledge_version(session, KB_ENCODER_NAME)

    assert after != before
    assert _index(encoder).search("what are loyalty points", k=1)[0].intent == intent


def test_an_index_of_nothing_finds_nothing(encoder: SentenceEncoder) -> None:
    with session_scope() as session:
        empty = KnowledgeIndex.build(session, encoder, "an encoder nothing was embedded with")

    assert (len(empty), empty.search("anything")) == (0, [])
