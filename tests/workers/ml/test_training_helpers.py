from collections import Counter

import pytest

from core.jobs import SENTIMENT_LABELS
from workers.training.classifier_fit import class_weights
from workers.training.common import stratified_indices


def test_balancedclass_weights_give_every_class_the_same_total_weight() -> None:
    labels = ["neutral"] * 6 + ["positive"] * 3 + ["negative"] * 1
    weights = dict(zip(SENTIMENT_LABELS, class_weights(labels, SENTIMENT_LABELS).tolist(), strict=True))
    totals = {label: weights[label] * labels.count(label) for label in SENTIMENT_LABELS}
    assert totals == pytest.approx(dict.fromkeys(SENTIMENT_LABELS, len(labels) / 3))


def test_a_class_without_training_examples_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"no training example for label\(s\) \['negative'\]"):
        class_weights(["neutral", "positive"], SENTIMENT_LABELS)


def test_stratified_sample_keeps_every_class_and_is_reproducible() -> None:
    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    picked = stratified_indices(labels, 10, seed=3)
    assert len(picked) == 10
    assert Counter(labels[i] for i in picked) == {"a": 5, "b": 3, "c": 2}
    assert stratified_indices(labels, 10, seed=3) == picked
    assert stratified_indices(labels, None, seed=3) == list(range(100))
