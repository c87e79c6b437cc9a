"""Choosing an out-of-scope rule on validation: the distance fitted on in-scope rows only, each score's
threshold the one with the most recall at the in-scope accuracy floor."""

from __future__ import annotations

import numpy as np
import pytest

from training.classifier.labelled_data import OUT_OF_SCOPE
from training.classifier.out_of_scope import _calibrate, fit_mahalanobis
from workers.ml.out_of_scope import OutOfScopeScore


def test_the_distance_is_fitted_on_the_in_scope_rows_only() -> None:
    rng = np.random.default_rng(0)
    centres = {"balance": np.array([5.0, 0.0]), "transfer": np.array([0.0, 5.0])}
    labels = [name for name in centres for _ in range(400)] + [OUT_OF_SCOPE] * 50
    features = np.concatenate(
        [rng.normal(centres[name], 1.0, size=(400, 2)) for name in centres] + [rng.normal(50, 1, (50, 2))]
    )

    distance = fit_mahalanobis(features, labels)

    np.testing.assert_allclose(distance.means, np.stack(list(centres.values())), atol=0.15)
    # unit-variance clusters: the precision is close to the identity, untouched by the far-away rows
    np.testing.assert_allclose(distance.precision, np.eye(2), atol=0.15)
    assert distance(np.array([[5.0, 0.0], [40.0, 40.0]])).tolist()[0] < 0.1


def test_the_threshold_has_the_most_recall_that_keeps_the_floor() -> None:
    # five in-scope queries (one a weak "b") and three out-of-scope ones, each with an outlier score
    gold = np.array(["a", "a", "b", "b", "b", OUT_OF_SCOPE, OUT_OF_SCOPE, OUT_OF_SCOPE])
    top = np.array(["a", "a", "b", "b", "b", "a", "b", "a"])
    outlier = np.array([0.1, 0.2, 0.3, 0.9, 0.4, 0.8, 0.95, 0.5])
    candidates = np.array([0.0, 0.45, 0.7, 0.85, 0.92, 1.0])

    strict = _calibrate(OutOfScopeScore.MAHALANOBIS, outlier, candidates, top, gold, 1.0)
    loose = _calibrate(OutOfScopeScore.MAHALANOBIS, outlier, candidates, top, gold, 0.8)

    # every in-scope query must stay: above 0.9, only the 0.95 query goes out
    assert (strict.threshold, strict.in_scope_accuracy, strict.out_of_scope_recall) == (
        0.92,
        1.0,
        pytest.approx(1 / 3, abs=1e-4),
    )
    # one in-scope query may go: 0.45 sends out all three out-of-scope queries and the 0.9 "b"
    assert (loose.threshold, loose.in_scope_accuracy, loose.out_of_scope_recall) == (0.45, 0.8, 1.0)
    assert loose.auroc == pytest.approx(13 / 15, abs=1e-4)


def test_when_no_threshold_keeps_the_floor_nothing_is_sent_out() -> None:
    gold = np.array(["a", "b", OUT_OF_SCOPE])
    top = np.array(["a", "a", "a"])  # in-scope accuracy is 0.5 before anything is sent out
    confidence = np.array([0.9, 0.6, 0.4])

    chosen = _calibrate(
        OutOfScopeScore.MAX_PROBABILITY, -confidence, -np.array([0.0, 0.5, 0.7]), top, gold, 0.9
    )

    assert (chosen.threshold, chosen.in_scope_accuracy, chosen.out_of_scope_recall) == (0.0, 0.5, 0.0)
