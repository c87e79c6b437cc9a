"""The real digits: scikit-learn's copy of the UCI handwritten digits, split three ways.

``load_digits`` ships inside the scikit-learn wheel (1,797 8x8 images with 17 grey levels, 0-16, from
43 writers; UCI ML repository, CC BY 4.0), so training needs no download. The split is stratified
and fixed (its own seed, not the training seed), so every run and profile scores on the same digits:

- ``gan``: what the GAN learns from (60%);
- ``judge``: what the judge classifier learns from, never seen by the GAN (20%);
- ``heldout``: seen by neither; the judge's accuracy and the Fréchet distances are measured on it (20%).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPLIT_SEED = 20261206
SHARES = {"gan": 0.6, "judge": 0.2, "heldout": 0.2}
MAX_INK = 16.0
SOURCE = "scikit-learn load_digits (UCI ML hand-written digits, optdigits test part; CC BY 4.0)"


@dataclass(frozen=True)
class Digits:
    images: np.ndarray  # (n, 8, 8) float32 in [-1, 1]: 0 ink -> -1, 16 -> 1
    labels: np.ndarray  # (n,) int64

    def __len__(self) -> int:
        return len(self.labels)

    def flat(self) -> np.ndarray:
        """(n, 64) in [0, 1], what the judge classifier reads."""
        return ((self.images.reshape(len(self), -1) + 1) / 2).astype(np.float32)

    def subset(self, indices: np.ndarray) -> Digits:
        return Digits(self.images[indices], self.labels[indices])


def load_digit_splits() -> dict[str, Digits]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    raw = load_digits()
    everything = Digits((raw.images / MAX_INK * 2 - 1).astype(np.float32), raw.target.astype(np.int64))
    indices = np.arange(len(everything))
    gan, rest = train_test_split(
        indices, train_size=SHARES["gan"], stratify=everything.labels, random_state=SPLIT_SEED
    )
    judge, heldout = train_test_split(
        rest, train_size=0.5, stratify=everything.labels[rest], random_state=SPLIT_SEED
    )
    return {
        "gan": everything.subset(gan),
        "judge": everything.subset(judge),
        "heldout": everything.subset(heldout),
    }


def as_float_ink(grey: np.ndarray) -> np.ndarray:
    """uint8 grey images (dark ink on white, as served) -> (n, 64) ink in [0, 1], like ``Digits.flat``."""
    return (1 - np.asarray(grey, dtype=np.float32).reshape(len(grey), -1) / 255).astype(np.float32)
