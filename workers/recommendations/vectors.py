"""The two vectors a ranker compares: a conversation's interest and an article's topic.

Serving and training both build them here, so a ranker trained on the click log sees exactly the
vectors it is served with.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Only the customer's last few messages: older ones rarely say what they want now.
RECENT_MESSAGES = 5


def unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def conversation_vector(message_vectors: np.ndarray, decay: float) -> np.ndarray:
    """A recency-weighted mix of the customer's message embeddings (oldest first): the newest weighs
    1, the one before ``decay``, then ``decay**2``...: what they ask now matters most, but a
    conversation that began with a card problem keeps some of that."""
    recent = np.asarray(message_vectors, dtype=np.float32)[-RECENT_MESSAGES:]
    if not len(recent):
        raise ValueError("a conversation vector needs at least one message")
    weights = decay ** np.arange(len(recent) - 1, -1, -1, dtype=np.float32)
    return unit((weights[:, None] * recent).sum(axis=0)).astype(np.float32)


def item_vector(question_vectors: np.ndarray) -> np.ndarray:
    """An article's topic: the mean direction of the ways customers ask for it."""
    return unit(np.asarray(question_vectors, dtype=np.float32).mean(axis=0)).astype(np.float32)


def recent_texts(customer_texts: Sequence[str]) -> list[str]:
    return list(customer_texts)[-RECENT_MESSAGES:]
