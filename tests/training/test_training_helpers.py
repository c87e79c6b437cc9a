from collections import Counter

import pytest

from core.jobs import SENTIMENT_LABELS
from training.classifier.fit import class_weights, log_prior
from training.splits import stratified_indices


def test_balanced_class_weights_give_every_class_the_same_total_weight() -> None:
    labels = ["neutral"] * 6 + ["positive"] * 3 + ["negative"] * 1
    weights = dict(zip(SENTIMENT_LABELS, class_weights(labels, SENTIMENT_LABELS).tolist(), strict=True))
    totals = {label: weights[label] * labels.count(label) for label in SENTIMENT_LABELS}
    assert totals == pytest.approx(dict.fromkeys(SENTIMENT_LABELS, len(labels) / 3))


def test_an_uninformed_balanced_head_predicts_the_training_prior() -> None:
    # A balanced-loss head that has learnt nothing outputs equal logits; the prior offset in its bias
    # must turn them back into the class frequencies of the training data.
    labels = ["neutral"] * 6 + ["positive"] * 3 + ["negative"] * 1
    probabilities = log_prior(labels, SENTIMENT_LABELS).softmax(dim=0).tolist()
    assert dict(zip(SENTIMENT_LABELS, probabilities, strict=True)) == pytest.approx(
        {"negative": 0.1, "neutral": 0.6, "positive": 0.3}
    )


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
