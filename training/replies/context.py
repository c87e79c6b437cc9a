"""The approved answers a reply model is shown while it trains: those serving would retrieve.

At serving time the generation path puts the knowledge base's answers to the questions nearest the
customer's (MiniLM cosine, best first) into the prompt. A model trained on bare questions never
learns to use them, and invents a reply; trained with them (retrieve and refine, Weston et al. 2018)
it learns to adapt the nearest answer. So each training pair gets the answers of the nearest OTHER
training questions, found with the knowledge base's own encoder; held-out pairs get the nearest
training questions' answers, as a knowledge base of the training pairs would give them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from training.gpt2.data import SupportPair
from workers.knowledge.embedding import load_kb_encoder

log = logging.getLogger(__name__)


class AnswerRetriever:
    """Nearest approved answers among ``pool`` (the training pairs) for any question."""

    def __init__(self, pool: Sequence[SupportPair], device: str) -> None:
        if not pool:
            raise ValueError("no pairs to retrieve answers from")
        self._pool = list(pool)
        self._encoder = load_kb_encoder(device)
        log.info("embedding %d questions to retrieve answers from", len(self._pool))
        self._vectors = self._encoder.encode([pair.question for pair in self._pool])

    def for_pool(self, k: int) -> list[list[str]]:
        """For each pool pair, the answers of its ``k`` nearest other pool questions, nearest first."""
        similarity = self._vectors @ self._vectors.T
        np.fill_diagonal(similarity, -np.inf)  # a pair never sees its own reply
        return self._answers(similarity, min(k, len(self._pool) - 1))

    def for_questions(self, questions: Sequence[str], k: int) -> list[list[str]]:
        if not questions:
            return []
        return self._answers(self._encoder.encode(list(questions)) @ self._vectors.T, min(k, len(self._pool)))

    def _answers(self, similarity: np.ndarray, k: int) -> list[list[str]]:
        if k <= 0:
            return [[] for _ in range(len(similarity))]
        nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
        return [[self._pool[i].reply for i in row] for row in nearest]
