"""Seeded, label-stratified splits: the same seed and fractions always give the same rows.

``evaluate`` re-derives a model's held-out split from the seed and fractions in its metadata, so a
reported figure can be reproduced without storing row lists next to the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sklearn.model_selection import train_test_split

from training.classifier.labelled_data import LabelledTexts


@dataclass(frozen=True)
class SplitSpec:
    seed: int
    valid_fraction: float
    test_fraction: float

    def __post_init__(self) -> None:
        if not (0 < self.valid_fraction < 1 and 0 <= self.test_fraction < 1):
            raise ValueError(f"split fractions out of range: {self}")
        if self.valid_fraction + self.test_fraction >= 1:
            raise ValueError(f"validation and test fractions leave nothing to train on: {self}")

    def describe(self) -> str:
        train = 1 - self.valid_fraction - self.test_fraction
        return (
            f"stratified by label, seed {self.seed}: {train:.0%} train / {self.valid_fraction:.0%} "
            f"validation / {self.test_fraction:.0%} test"
        )

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class Splits:
    train: LabelledTexts
    valid: LabelledTexts
    test: LabelledTexts


def split(data: LabelledTexts, spec: SplitSpec) -> Splits:
    everything = list(range(len(data)))
    held_out = spec.valid_fraction + spec.test_fraction
    train, rest = train_test_split(
        everything, test_size=held_out, stratify=data.labels, random_state=spec.seed
    )
    if spec.test_fraction == 0:
        valid, test = rest, []
    else:
        rest_labels = [data.labels[i] for i in rest]
        valid, test = train_test_split(
            rest, test_size=spec.test_fraction / held_out, stratify=rest_labels, random_state=spec.seed
        )
    return Splits(data.subset(sorted(train)), data.subset(sorted(valid)), data.subset(sorted(test)))


def sample(data: LabelledTexts, size: int | None, seed: int) -> LabelledTexts:
    """A seeded, label-stratified sample; the whole set when ``size`` is None or not smaller."""
    if size is None or size >= len(data):
        return data
    return data.subset(stratified_indices(data.labels, size, seed))


def stratified_indices(labels: Sequence[str], size: int | None, seed: int) -> list[int]:
    """A seeded, label-stratified sample of row indices (all rows, in order, when size is None or too big)."""
    everything = list(range(len(labels)))
    if size is None or size >= len(labels):
        return everything
    picked, _ = train_test_split(everything, train_size=size, stratify=list(labels), random_state=seed)
    return sorted(picked)
