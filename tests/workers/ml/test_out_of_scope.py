"""The out-of-scope rule a served intent model applies: its distance arithmetic and what its metadata
may say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workers.ml.info import ModelInfo
from workers.ml.out_of_scope import DISTANCE_FILE, MahalanobisDistance, OutOfScopeRule, OutOfScopeScore


def _info(rule: object) -> ModelInfo:
    return ModelInfo(
        name="intent-test", version="v", kind="intent", profile="tiny", base="b", created_at="t",
        parameters=1, training_seconds=0.0, device="cpu", metrics={}, data={"out_of_scope": rule},
    )  # fmt: skip


def _distance(seed: int = 0) -> MahalanobisDistance:
    rng = np.random.default_rng(seed)
    spread = rng.normal(size=(6, 6))
    return MahalanobisDistance(means=rng.normal(size=(4, 6)), precision=spread @ spread.T + np.eye(6))


def test_the_distance_is_the_smallest_squared_mahalanobis_distance_to_any_mean() -> None:
    distance = _distance()
    features = np.random.default_rng(1).normal(size=(5, 6))

    by_hand = [min(float((x - m) @ distance.precision @ (x - m)) for m in distance.means) for x in features]

    assert distance(features) == pytest.approx(by_hand, rel=1e-9)
    assert distance(distance.means) == pytest.approx(np.zeros(4), abs=1e-9)


def test_the_distance_survives_a_round_trip_through_its_file(tmp_path: Path) -> None:
    distance = _distance()
    distance.save(tmp_path)

    loaded = MahalanobisDistance.load(tmp_path)

    assert (tmp_path / DISTANCE_FILE).is_file()
    np.testing.assert_array_equal(loaded.means, distance.means)
    np.testing.assert_array_equal(loaded.precision, distance.precision)


def test_a_precision_matrix_must_fit_the_means() -> None:
    with pytest.raises(ValueError, match="does not fit means"):
        MahalanobisDistance(means=np.zeros((3, 4)), precision=np.eye(5))


def test_a_rule_from_before_the_distance_is_a_max_probability_rule() -> None:
    rule = OutOfScopeRule.from_info(_info({"label": "oos", "threshold": 0.5}), distance=None)

    assert rule is not None and rule.score is OutOfScopeScore.MAX_PROBABILITY and not rule.needs_features
    probabilities = np.array([[0.4, 0.35, 0.25], [0.9, 0.05, 0.05]])
    assert rule.outside(probabilities, None).tolist() == [True, False]


def test_a_mahalanobis_rule_sends_far_features_out() -> None:
    distance = _distance()
    rule = OutOfScopeRule.from_info(
        _info({"label": "oos", "threshold": 1.0, "score": "mahalanobis"}), distance=distance
    )

    assert rule is not None and rule.needs_features
    near, far = distance.means[2] + 1e-3, distance.means[2] + 10.0
    confident = np.array([[0.98, 0.01, 0.01]] * 2)
    assert rule.outside(confident, np.stack([near, far])).tolist() == [False, True]
    with pytest.raises(ValueError, match="needs the query features"):
        rule.outside(confident, None)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"label": "oos", "threshold": 3.0, "score": "mahalanobis"}, "needs out_of_scope.npz"),
        ({"label": "oos", "threshold": 0.5, "score": "energy"}, "unknown out-of-scope score 'energy'"),
        ({"label": "oos"}, "must be {label, threshold"),
        ({"label": "oos", "threshold": 0.5, "margin": 1}, "must be {label, threshold"),
        ("oos", "must be {label, threshold"),
    ],
)
def test_a_rule_the_model_cannot_apply_is_refused_at_load(rule: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OutOfScopeRule.from_info(_info(rule), distance=None)
