from collections import Counter

import pytest

from workers.ml.sentiment import LABELS
from workers.training.common import stratified_indices
from workers.training.profiles import PROFILES, get_profile
from workers.training.sentiment import balanced_class_weights


def test_balanced_class_weights_give_every_class_the_same_total_weight() -> None:
    labels = ["neutral"] * 6 + ["positive"] * 3 + ["negative"] * 1
    weights = dict(zip(LABELS, balanced_class_weights(labels), strict=True))
    totals = {label: weights[label] * labels.count(label) for label in LABELS}
    assert totals == pytest.approx(dict.fromkeys(LABELS, len(labels) / 3))


def test_stratified_sample_keeps_every_class_and_is_reproducible() -> None:
    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    picked = stratified_indices(labels, 10, seed=3)
    assert len(picked) == 10
    assert Counter(labels[i] for i in picked) == {"a": 5, "b": 3, "c": 2}
    assert stratified_indices(labels, 10, seed=3) == picked
    assert stratified_indices(labels, None, seed=3) == list(range(100))


def test_generator_profiles_train_every_position_they_serve() -> None:
    for profile in PROFILES.values():
        assert profile.generator.seq_len == profile.generator.n_positions


def test_unknown_profile_is_named() -> None:
    with pytest.raises(ValueError, match="'huge'"):
        get_profile("huge")
