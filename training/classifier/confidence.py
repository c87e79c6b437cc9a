"""How far a predicted topic is trusted: temperature scaling and a confidence threshold, both chosen
on validation.

A classifier's top probability is not the chance it is right (fine-tuned transformers are
over-confident; a regularised linear head under-confident). One temperature, fitted by the negative
log-likelihood of the validation labels, fixes most of that; the threshold is then the lowest
calibrated confidence whose validation predictions at or above it are right at least
``target_precision`` of the time, so that as many items as possible get a topic that is usually right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from workers.ml.calibration import scale

if TYPE_CHECKING:
    from workers.ml.classifier import Prediction

# Temperatures tried, on a log scale around 1.
TEMPERATURES = np.exp(np.linspace(np.log(0.05), np.log(20.0), 121))


@dataclass(frozen=True)
class ConfidenceCalibration:
    temperature: float
    threshold: float  # calibrated confidence at or above which a prediction is kept
    target_precision: float
    validation_rows: int
    validation_kept_share: float  # of validation rows, how many are at or above the threshold
    validation_kept_accuracy: float  # how many of those are right
    validation_nll_before: float
    validation_nll_after: float

    def as_info(self) -> dict[str, float]:
        return {
            key: round(value, 4) if isinstance(value, float) else value for key, value in asdict(self).items()
        }


def _nll(probabilities: np.ndarray, gold: np.ndarray) -> float:
    return float(-np.log(np.clip(probabilities[np.arange(len(gold)), gold], 1e-12, 1.0)).mean())


def calibrate_confidence(
    probabilities: np.ndarray, gold_labels: Sequence[str], labels: Sequence[str], target_precision: float
) -> ConfidenceCalibration:
    if len(gold_labels) == 0:
        raise ValueError("calibration needs validation rows")
    index = {label: i for i, label in enumerate(labels)}
    gold = np.array([index[label] for label in gold_labels])
    temperature = float(min(TEMPERATURES, key=lambda t: _nll(scale(probabilities, t), gold)))
    scaled = scale(probabilities, temperature)
    confidence, right = scaled.max(axis=1), scaled.argmax(axis=1) == gold
    # Most confident first; the precision of the top k for every k, and the lowest confidence where it
    # still meets the target (the whole set when it always does; only certainty when it never does).
    order = np.argsort(-confidence, kind="stable")
    precision = np.cumsum(right[order]) / np.arange(1, len(order) + 1)
    meeting = np.flatnonzero(precision >= target_precision)
    if len(meeting):
        kept = int(meeting.max()) + 1
        threshold = float(confidence[order][kept - 1])
    else:
        kept, threshold = 0, 1.0
    chosen = confidence >= threshold
    return ConfidenceCalibration(
        temperature=temperature,
        threshold=threshold,
        target_precision=target_precision,
        validation_rows=len(gold),
        validation_kept_share=float(chosen.mean()),
        validation_kept_accuracy=float(right[chosen].mean()) if chosen.any() else float("nan"),
        validation_nll_before=_nll(probabilities, gold),
        validation_nll_after=_nll(scaled, gold),
    )


def confident_figures(
    predictions: Sequence[Prediction], gold: Sequence[str], threshold: float, prefix: str
) -> dict[str, float]:
    """The share of rows whose calibrated confidence reaches ``threshold`` (those get a predicted
    topic), and the accuracy among them."""
    kept = [p.label == g for p, g in zip(predictions, gold, strict=True) if p.confidence >= threshold]
    return {
        f"{prefix}_confident_share": round(len(kept) / len(gold), 4),
        f"{prefix}_confident_accuracy": round(sum(kept) / len(kept), 4) if kept else float("nan"),
    }
