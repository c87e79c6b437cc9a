"""Choose an intent model's out-of-scope rule (``workers/ml/out_of_scope.py``) on validation.

Each score gets the threshold that sends the most validation out-of-scope queries out while validation
in-scope accuracy stays at the recipe's floor. The score with the higher validation recall is kept;
on a tie, max probability, which needs nothing beside the model. The test split chooses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.covariance import LedoitWolf
from sklearn.metrics import roc_auc_score
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.classifier.labelled_data import OUT_OF_SCOPE, LabelledTexts
from workers.ml.classifier import TextClassifier
from workers.ml.int8_runtime import Int8Classifier
from workers.ml.linear_head import LinearHeadClassifier
from workers.ml.out_of_scope import MahalanobisDistance, OutOfScopeRule, OutOfScopeScore

log = logging.getLogger(__name__)

# Confidence thresholds tried for max probability: a percent grid, as a person would set one by hand.
PROBABILITY_GRID = np.round(np.arange(0.0, 1.0, 0.01), 2)
# Distance thresholds tried: the validation distances' upper quantiles (out-of-scope queries are far).
DISTANCE_QUANTILES = np.linspace(0.5, 1.0, 501)


@dataclass(frozen=True)
class Calibration:
    """One score's best threshold and what it gave on validation."""

    score: OutOfScopeScore
    threshold: float
    in_scope_accuracy: float
    out_of_scope_recall: float
    auroc: float  # how well the score alone ranks out-of-scope queries above in-scope ones

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "score": self.score.value}


def choose_out_of_scope_rule(
    model: PreTrainedModel | LinearHeadClassifier | Int8Classifier,
    tokenizer: PreTrainedTokenizerBase,
    train: LabelledTexts,
    valid: LabelledTexts,
    min_in_scope_accuracy: float,
    device: str,
    try_distance: bool = True,
) -> tuple[OutOfScopeRule, list[Calibration]]:
    """The rule with the best validation out-of-scope recall, and every score's calibration.

    ``try_distance=False`` keeps to max probability: a frozen encoder's features were never trained to
    separate the intents, and a starter's build time is a first run's waiting time.
    """
    labels = tuple(model.config.id2label[i] for i in range(model.config.num_labels))
    if OUT_OF_SCOPE not in labels:
        raise ValueError(f"an out-of-scope rule needs a {OUT_OF_SCOPE!r} class among the model's labels")
    probabilities, valid_features = TextClassifier.outputs_of(
        model, tokenizer, valid.texts, device, features=try_distance
    )
    top = np.array(labels)[probabilities.argmax(axis=1)]
    gold = np.array(valid.labels)
    confidence = probabilities.max(axis=1)
    calibrations = [
        _calibrate(
            OutOfScopeScore.MAX_PROBABILITY, -confidence, -PROBABILITY_GRID, top, gold, min_in_scope_accuracy
        )
    ]
    distance = None
    if try_distance:
        assert valid_features is not None
        _, train_features = TextClassifier.outputs_of(model, tokenizer, train.texts, device, features=True)
        assert train_features is not None
        distance = fit_mahalanobis(train_features, train.labels)
        distances = distance(valid_features)
        candidates = np.unique(np.quantile(distances, DISTANCE_QUANTILES))
        calibrations.append(
            _calibrate(OutOfScopeScore.MAHALANOBIS, distances, candidates, top, gold, min_in_scope_accuracy)
        )
    for calibration in calibrations:
        log.info("out-of-scope %s", calibration)
    best = max(calibrations, key=lambda c: c.out_of_scope_recall)  # max() keeps the first on a tie
    return (
        OutOfScopeRule(
            label=OUT_OF_SCOPE,
            threshold=best.threshold,
            distance=distance if best.score is OutOfScopeScore.MAHALANOBIS else None,
        ),
        calibrations,
    )


def fit_mahalanobis(features: np.ndarray, labels: Sequence[str]) -> MahalanobisDistance:
    """Class means of the in-scope rows and the inverse of their shared covariance.

    Ledoit-Wolf shrinkage keeps the inverse stable where an intent has few rows for 384 dimensions.
    The model's own out-of-scope rows are left out: a query near them is not near an intent.
    """
    names = np.array(labels)
    intents = sorted(set(names) - {OUT_OF_SCOPE})
    if not intents:
        raise ValueError("no in-scope training rows to fit the out-of-scope distance on")
    means = np.stack([features[names == intent].mean(axis=0) for intent in intents])
    in_scope = names != OUT_OF_SCOPE
    codes = np.searchsorted(intents, names[in_scope])
    precision = LedoitWolf().fit(features[in_scope] - means[codes]).precision_
    return MahalanobisDistance(means=means.astype(np.float32), precision=precision.astype(np.float32))


def _calibrate(
    score: OutOfScopeScore,
    outlier: np.ndarray,
    candidates: np.ndarray,
    top: np.ndarray,
    gold: np.ndarray,
    min_in_scope_accuracy: float,
) -> Calibration:
    """``outlier`` grows with how out of scope a query looks; a query is sent out above a candidate.

    The best candidate has the highest recall whose in-scope accuracy meets the floor, the least
    aggressive one on a tie; each score's candidates include one that sends nothing out, the answer
    when no candidate meets the floor. For max probability the outliers and candidates come negated, and the
    threshold is reported as the probability it is.
    """
    in_scope = gold != OUT_OF_SCOPE
    if in_scope.all() or not in_scope.any():
        raise ValueError("calibrating an out-of-scope rule needs in-scope and out-of-scope validation rows")
    tried = []  # (recall, accuracy, candidate), least aggressive first
    for candidate in sorted(candidates, reverse=True):
        predicted = np.where(outlier > candidate, OUT_OF_SCOPE, top)
        accuracy = float((predicted[in_scope] == gold[in_scope]).mean())
        recall = float((predicted[~in_scope] == OUT_OF_SCOPE).mean())
        tried.append((recall, accuracy, float(candidate)))
    allowed = [row for row in tried if row[1] >= min_in_scope_accuracy]
    if not allowed:
        log.warning(
            "%s: no threshold keeps validation in-scope accuracy at %.3f; sending out only what the model's "
            "own out-of-scope class does",
            score,
            min_in_scope_accuracy,
        )
    best = max(allowed, key=lambda row: row[0]) if allowed else tried[0]
    recall, accuracy, candidate = best
    threshold = -candidate if score is OutOfScopeScore.MAX_PROBABILITY else candidate
    return Calibration(
        score=score,
        threshold=round(threshold, 4),
        in_scope_accuracy=round(accuracy, 4),
        out_of_scope_recall=round(recall, 4),
        auroc=round(float(roc_auc_score(~in_scope, outlier)), 4),
    )
