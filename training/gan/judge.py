"""The judge: a digit classifier trained on real digits the GAN never saw, and what it measures.

- class consistency: the share of generated images the judge reads as the digit that was asked for;
- a Fréchet distance between the judge's hidden features of two sets of images (FID's formula, on
  this small classifier instead of Inception), read against the distance between two real sets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

HIDDEN_UNITS = 64


@dataclass
class Judge:
    model: object  # a fitted sklearn MLPClassifier

    @classmethod
    def fit(cls, flat: np.ndarray, labels: np.ndarray, seed: int = 0) -> Judge:
        from sklearn.neural_network import MLPClassifier

        model = MLPClassifier(
            hidden_layer_sizes=(HIDDEN_UNITS,), alpha=1e-3, max_iter=2000, random_state=seed
        )
        model.fit(flat, labels)
        return cls(model)

    def predict(self, flat: np.ndarray) -> np.ndarray:
        return self.model.predict(flat)  # type: ignore[attr-defined]

    def accuracy(self, flat: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(self.predict(flat) == labels))

    def features(self, flat: np.ndarray) -> np.ndarray:
        """The hidden layer's activations (ReLU), the features the Fréchet distance compares."""
        weights, bias = self.model.coefs_[0], self.model.intercepts_[0]  # type: ignore[attr-defined]
        return np.maximum(flat @ weights + bias, 0.0)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) over the rows of two feature matrices."""
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    # A small ridge: hidden units that never fire on a set make its covariance singular.
    ridge = 1e-6 * np.eye(a.shape[1])
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    root = linalg.sqrtm(cov_a @ cov_b)
    root = np.real(root)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * root))
