"""When an intent model says a query belongs to none of its intents.

An intent model trained with out-of-scope detection carries its rule in its metadata
(``info.data["out_of_scope"]``). The model's own out-of-scope class always wins; beyond it, one score
decides, chosen per model on validation (``training/classifier/out_of_scope.py``):

- ``max_probability``: the top class's softmax probability; below the threshold, out of scope. A
  softmax stays confident far from anything it was trained on, so unusual queries slip through.
- ``mahalanobis``: the distance of the query's features (the final layer, mean-pooled) to the nearest
  intent's training mean, under the covariance the intents share (Lee et al. 2018; Podolskiy et al. 2021
  found it the strongest detector for fine-tuned transformers); above the threshold, out of scope. The
  means and the precision matrix are stored beside the model as ``out_of_scope.npz``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path

import numpy as np

from workers.ml.info import ModelInfo

DISTANCE_FILE = "out_of_scope.npz"


class OutOfScopeScore(StrEnum):
    MAX_PROBABILITY = "max_probability"
    MAHALANOBIS = "mahalanobis"


@dataclass(frozen=True)
class MahalanobisDistance:
    means: np.ndarray  # (intents, features): each in-scope intent's mean training features
    precision: np.ndarray  # (features, features): inverse of the covariance the intents share

    def __post_init__(self) -> None:
        width = self.means.shape[1] if self.means.ndim == 2 else -1
        if self.precision.shape != (width, width):
            raise ValueError(
                f"a precision matrix of shape {self.precision.shape} does not fit means of shape "
                f"{self.means.shape}"
            )

    @cached_property
    def _mean_norms(self) -> np.ndarray:
        """mᵀPm of each mean: the same for every query, so computed once, not per batch."""
        return np.einsum("ch,hk,ck->c", self.means, self.precision, self.means)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Squared distance of each row to its nearest intent mean, shape (len(features),)."""
        projected = features @ self.precision
        # (x-m)ᵀP(x-m) expanded, so no (rows, intents, features) array is ever built
        squared = (
            np.einsum("nh,nh->n", projected, features)[:, None]
            - 2.0 * projected @ self.means.T
            + self._mean_norms[None, :]
        )
        return squared.min(axis=1)

    def save(self, folder: Path) -> None:
        np.savez(Path(folder) / DISTANCE_FILE, means=self.means, precision=self.precision)

    @classmethod
    def load(cls, folder: Path) -> MahalanobisDistance:
        with np.load(Path(folder) / DISTANCE_FILE) as stored:
            return cls(means=stored["means"], precision=stored["precision"])


@dataclass(frozen=True)
class OutOfScopeRule:
    label: str
    threshold: float
    distance: MahalanobisDistance | None = None  # None: the max-probability score

    @property
    def score(self) -> OutOfScopeScore:
        return OutOfScopeScore.MAX_PROBABILITY if self.distance is None else OutOfScopeScore.MAHALANOBIS

    @classmethod
    def from_info(cls, info: ModelInfo, distance: MahalanobisDistance | None) -> OutOfScopeRule | None:
        """The model's rule; ``distance`` is what the model folder stores, if anything."""
        rule = info.data.get("out_of_scope")
        if rule is None:
            return None
        # Models built before the distance existed store {label, threshold}: a max-probability rule.
        keys = set(rule) if isinstance(rule, dict) else set()
        if not {"label", "threshold"} <= keys <= {"label", "threshold", "score"}:
            raise ValueError(
                f"model {info.name}: out_of_scope must be {{label, threshold[, score]}}, got {rule!r}"
            )
        try:
            score = OutOfScopeScore(rule.get("score", OutOfScopeScore.MAX_PROBABILITY))
        except ValueError:
            raise ValueError(
                f"model {info.name}: unknown out-of-scope score {rule['score']!r}; "
                f"known: {[s.value for s in OutOfScopeScore]}"
            ) from None
        if score is OutOfScopeScore.MAHALANOBIS and distance is None:
            raise ValueError(f"model {info.name}: its mahalanobis out-of-scope rule needs {DISTANCE_FILE}")
        return cls(
            label=str(rule["label"]),
            threshold=float(rule["threshold"]),
            distance=distance if score is OutOfScopeScore.MAHALANOBIS else None,
        )

    def as_info(self) -> dict[str, object]:
        return {"label": self.label, "threshold": self.threshold, "score": self.score.value}

    @property
    def needs_features(self) -> bool:
        return self.score is OutOfScopeScore.MAHALANOBIS

    def outside(self, probabilities: np.ndarray, features: np.ndarray | None) -> np.ndarray:
        """Which rows the score sends out of scope (the model's own out-of-scope class aside)."""
        if self.distance is None:
            return probabilities.max(axis=1) < self.threshold
        if features is None:
            raise ValueError("a mahalanobis out-of-scope rule needs the query features")
        return self.distance(features) > self.threshold
