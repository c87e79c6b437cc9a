"""Nearest known questions in the knowledge base, with faiss over the stored MiniLM embeddings.

Exact search is fast enough up to ``EXACT_SEARCH_LIMIT`` questions, and fast to build with no recall
loss, so those knowledge bases get faiss's exact index; larger ones get HNSW, whose search stays fast
as the base grows. Timings in docs/benchmarks.md ("Knowledge-base search").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import faiss
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import KnowledgeEntry, KnowledgeQuestion
from workers.knowledge.embedding import bytes_to_vector
from workers.ml.embedding import SentenceEncoder

EXACT_SEARCH_LIMIT = 20_000
HNSW_NEIGHBOURS = 32
HNSW_SEARCH_DEPTH = 64
# Several variants of one question are often nearest together; look further to return k entries.
CANDIDATES_PER_HIT = 4


@dataclass(frozen=True)
class KnowledgeHit:
    entry_id: int
    question: str  # the stored variant nearest to the query
    answer: str
    intent: str
    category: str | None
    score: float  # cosine similarity in [-1, 1]


@dataclass(frozen=True)
class KnowledgeVersion:
    """Changes whenever questions are added, removed or re-embedded, or an entry is edited."""

    questions: int
    last_question_id: int | None
    last_entry_update: datetime | None


def knowledge_version(session: Session, encoder_name: str) -> KnowledgeVersion:
    count, last_id = session.execute(
        select(func.count(KnowledgeQuestion.id), func.max(KnowledgeQuestion.id)).where(
            KnowledgeQuestion.embedding_model == encoder_name
        )
    ).one()
    return KnowledgeVersion(count, last_id, session.scalar(select(func.max(KnowledgeEntry.updated_at))))


class KnowledgeIndex:
    def __init__(
        self,
        encoder: SentenceEncoder,
        vectors: np.ndarray,
        questions: list[str],
        entries: list[KnowledgeEntry],
        version: KnowledgeVersion,
    ) -> None:
        self.encoder = encoder
        self.questions = questions
        self.entries = entries  # one per vector (the entry of that question)
        # Kept for what is built from the same vectors (the recommender's catalogue of articles).
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.version = version
        dimension = encoder.dimension
        if len(vectors) > EXACT_SEARCH_LIMIT:
            index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = HNSW_SEARCH_DEPTH
        else:
            index = faiss.IndexFlatIP(dimension)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self._index = index

    @classmethod
    def build(cls, session: Session, encoder: SentenceEncoder, encoder_name: str) -> KnowledgeIndex:
        """Every question embedded by ``encoder_name``; entries are detached copies, safe across threads."""
        version = knowledge_version(session, encoder_name)
        rows = session.execute(
            select(KnowledgeQuestion.text, KnowledgeQuestion.embedding, KnowledgeEntry)
            .join(KnowledgeEntry, KnowledgeQuestion.entry_id == KnowledgeEntry.id)
            .where(KnowledgeQuestion.embedding_model == encoder_name)
            .order_by(KnowledgeQuestion.id)
        ).all()
        session.expunge_all()
        vectors = (
            np.stack([bytes_to_vector(row[1]) for row in rows]) if rows else np.zeros((0, encoder.dimension))
        )
        if vectors.shape[1] != encoder.dimension:
            raise ValueError(
                f"stored embeddings have {vectors.shape[1]} dimensions, the encoder {encoder.dimension}"
            )
        return cls(encoder, vectors, [row[0] for row in rows], [row[2] for row in rows], version)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def search(self, query: str, k: int = 3) -> list[KnowledgeHit]:
        """The k entries whose questions are nearest to ``query``, best first, one hit per entry."""
        return self.search_vector(self.encoder.encode([query])[0], k)

    def search_vector(self, vector: np.ndarray, k: int = 3) -> list[KnowledgeHit]:
        """As ``search``, for a query already embedded by this index's encoder (the worker embeds
        the queries of concurrent jobs in one batch)."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if not len(self):
            return []
        query = np.ascontiguousarray(np.asarray(vector, dtype=np.float32).reshape(1, -1))
        scores, rows = self._index.search(query, min(len(self), k * CANDIDATES_PER_HIT))
        hits: dict[int, KnowledgeHit] = {}
        for score, row in zip(scores[0], rows[0], strict=True):
            if row < 0:
                continue  # faiss pads with -1 when it finds fewer
            entry = self.entries[row]
            if entry.id not in hits:
                hits[entry.id] = KnowledgeHit(
                    entry_id=entry.id,
                    question=self.questions[row],
                    answer=entry.answer,
                    intent=entry.intent,
                    category=entry.category,
                    score=float(score),
                )
            if len(hits) == k:
                break
        return list(hits.values())
