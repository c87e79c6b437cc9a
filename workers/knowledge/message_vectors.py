"""Customer message vectors, each embedded once per worker process.

Every reply embeds the new message (for the knowledge base), and its suggestions mix in the vectors of
the customer's last few messages (``recommendations.vectors.RECENT_MESSAGES``): without a memory, the
fifth turn of a conversation embeds four messages it embedded before, and a saturated worker spends
most of its encoder time on them. The knowledge base's encoder is pinned (its wheel's name is stored
with the vectors), so a text's vector never changes while the process lives; a bounded LRU of recent
texts is all it takes. Misses still go through the registry's micro-batcher, so concurrent replies
share one forward pass.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from workers.registry import ModelRegistry

# Far more than the messages of the conversations a worker holds at once (5 each): ~1.5 kB a vector.
MAX_REMEMBERED = 8192


class _Remembered:
    """A text → vector LRU, shared by the worker's task threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> np.ndarray | None:
        with self._lock:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
            return vector

    def put(self, text: str, vector: np.ndarray) -> None:
        with self._lock:
            self._vectors[text] = vector
            self._vectors.move_to_end(text)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)


_REMEMBERED = _Remembered(MAX_REMEMBERED)


class PendingVectors:
    """The vectors of some texts: those remembered at once, the others when the batcher answers."""

    def __init__(self, texts: Sequence[str], known: list[np.ndarray | None], pending: Any | None) -> None:
        self._texts = list(texts)
        self._known = known
        self._pending = pending

    def result(self) -> list[np.ndarray]:
        if self._pending is None:
            return [vector for vector in self._known if vector is not None]
        computed = iter(self._pending.result())
        vectors = []
        for text, vector in zip(self._texts, self._known, strict=True):
            if vector is None:
                vector = np.asarray(next(computed))
                _REMEMBERED.put(text, vector)
            vectors.append(vector)
        return vectors


def embed_messages(registry: ModelRegistry, texts: Sequence[str]) -> PendingVectors:
    """The knowledge-base vectors of ``texts``; returns at once, ``.result()`` waits for them."""
    known = [_REMEMBERED.get(text) for text in texts]
    missing = [text for text, vector in zip(texts, known, strict=True) if vector is None]
    return PendingVectors(texts, known, registry.embed_queries(missing) if missing else None)
