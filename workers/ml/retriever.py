"""Nearest-question search over the customer-support replies, with MiniLM sentence embeddings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workers.ml.embedding import SentenceEncoder
from workers.ml.info import ModelInfo, read_info_of_kind

KIND = "reply-retriever"
ENCODER_DIR = "encoder"
EMBEDDINGS_FILE = "embeddings.npy"
ENTRIES_FILE = "entries.jsonl"


@dataclass(frozen=True)
class RetrievalHit:
    question: str
    answer: str  # may hold placeholders such as "{{Order Number}}", as in the source data
    intent: str
    category: str
    score: float  # cosine similarity in [-1, 1]


class ReplyRetriever:
    def __init__(
        self, encoder: SentenceEncoder, embeddings: np.ndarray, entries: list[dict[str, str]], info: ModelInfo
    ) -> None:
        if embeddings.shape != (len(entries), encoder.dimension):
            raise ValueError(
                f"reply index {info.name}: embeddings have shape {embeddings.shape}, expected "
                f"({len(entries)}, {encoder.dimension})"
            )
        self.encoder = encoder
        self.embeddings = embeddings.astype(np.float32, copy=False)
        self.entries = entries
        self.info = info

    @classmethod
    def load(cls, folder: Path, device: str) -> ReplyRetriever:
        folder = Path(folder)
        info = read_info_of_kind(folder, KIND)
        encoder = SentenceEncoder.load(folder / ENCODER_DIR, device)
        embeddings = np.load(folder / EMBEDDINGS_FILE)
        with (folder / ENTRIES_FILE).open(encoding="utf-8") as lines:
            entries = [json.loads(line) for line in lines if line.strip()]
        return cls(encoder, embeddings, entries, info)

    def search(self, query: str, k: int = 3) -> list[RetrievalHit]:
        """The k stored questions most similar to ``query``, best first."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        scores = self.embeddings @ self.encoder.encode([query])[0]
        best = top_k_indices(scores, k)
        return [
            RetrievalHit(
                question=self.entries[i]["question"],
                answer=self.entries[i]["answer"],
                intent=self.entries[i]["intent"],
                category=self.entries[i]["category"],
                score=float(np.clip(scores[i], -1.0, 1.0)),
            )
            for i in best
        ]

    def warm_up(self) -> None:
        self.search("hello", k=1)


def top_k_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, largest first; argpartition keeps this linear in the index size."""
    k = min(k, scores.shape[0])
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    candidates = np.argpartition(-scores, k - 1)[:k]
    return candidates[np.argsort(-scores[candidates], kind="stable")]
