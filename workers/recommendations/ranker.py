"""The ranker: how likely a person in this conversation is to open this article.

Untrained, it is the embedding similarity of the conversation and the article (the cosine). Trained
on the click log (training/recommender/), it adds what the clicks taught: a bilinear term, the
conversation's vector times a learnt matrix times the article's, so that "people who ask about X open
Y" can be learnt even where X and Y are far apart in MiniLM's space. Its score is then the estimated
click probability. Plain numpy: scoring every article of a 4,000-entry knowledge base is one matrix
product.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

WEIGHTS_FILE = "ranker.npz"
RECOMMENDER_KIND = "recommender"
SIMILARITY_VERSION = "similarity"  # the untrained ranker's name wherever a version is recorded


@dataclass(frozen=True)
class Ranker:
    version: str
    similarity_weight: float
    interaction: np.ndarray | None  # (dimension, dimension); None for the untrained ranker
    bias: float

    @classmethod
    def similarity(cls) -> Ranker:
        return cls(SIMILARITY_VERSION, 1.0, None, 0.0)

    @property
    def trained(self) -> bool:
        return self.interaction is not None

    def logits(self, conversation: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Scores of ``items`` (rows, unit length) for one ``conversation`` vector."""
        direction = self.similarity_weight * conversation
        if self.interaction is not None:
            direction = direction + conversation @ self.interaction
        return items @ direction + self.bias

    def scores(self, conversation: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The cosine (untrained) or the click probability (trained); higher ranks first."""
        logits = self.logits(conversation, items)
        return 1.0 / (1.0 + np.exp(-logits)) if self.trained else logits

    def save(self, folder: Path) -> None:
        assert self.interaction is not None, "the similarity ranker has nothing to save"
        np.savez(
            Path(folder) / WEIGHTS_FILE,
            similarity_weight=np.float32(self.similarity_weight),
            interaction=self.interaction.astype(np.float32),
            bias=np.float32(self.bias),
        )

    @classmethod
    def load(cls, folder: Path, version: str) -> Ranker:
        with np.load(Path(folder) / WEIGHTS_FILE) as weights:
            return cls(
                version,
                float(weights["similarity_weight"]),
                np.asarray(weights["interaction"], dtype=np.float32),
                float(weights["bias"]),
            )

    def warm_up(self) -> None:
        """The registry warms every model it loads; a numpy ranker has nothing to warm."""
