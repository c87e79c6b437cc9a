"""Temperature scaling of a classifier's probabilities (fitted on validation by
``training/classifier/confidence.py``, stored in the model's metadata as ``data["confidence"]``)."""

from __future__ import annotations

from typing import Any

import numpy as np

CONFIDENCE_KEY = "confidence"


def scale(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax(logits / T) from softmax(logits): log-probabilities differ from logits by a constant."""
    if temperature == 1.0:
        return probabilities
    logits = np.log(np.clip(probabilities, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def temperature_of(data: dict[str, Any]) -> float:
    return float(data.get(CONFIDENCE_KEY, {}).get("temperature", 1.0))


def threshold_of(data: dict[str, Any]) -> float | None:
    """The calibrated confidence at or above which a prediction is trusted; None if never calibrated."""
    threshold = data.get(CONFIDENCE_KEY, {}).get("threshold")
    return None if threshold is None else float(threshold)
