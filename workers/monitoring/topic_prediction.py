"""The predicted topic of each stream item that asks for one, from the topic model (``topic-news``),
through its micro-batcher: the items of concurrent sentiment jobs share one forward pass."""

from __future__ import annotations

from dataclasses import dataclass

from core.job_results import PredictedTopic
from core.jobs import TOPIC_MODEL, SentimentPayload
from core.settings import get_settings
from workers.registry import ServedModel, get_registry


@dataclass(frozen=True)
class TopicPredictions:
    per_item: list[PredictedTopic | None]  # None: the item did not ask for one
    served: ServedModel | None  # None when no item asked

    @property
    def model(self) -> str | None:
        return None if self.served is None else f"{self.served.name} {self.served.version}"


def wants_prediction(payload: SentimentPayload) -> list[bool]:
    if payload.topics == "given":
        return [False] * len(payload.items)
    if payload.topics == "predict":
        return [True] * len(payload.items)
    return [item.topic is None for item in payload.items]


def predict_topics(payload: SentimentPayload) -> TopicPredictions:
    wanted = wants_prediction(payload)
    if not any(wanted):
        return TopicPredictions([None] * len(wanted), None)
    texts = [item.text for item, want in zip(payload.items, wanted, strict=True) if want]
    served, predictions = get_registry().classify(TOPIC_MODEL, texts)
    threshold = min_confidence(served)
    found = iter(predictions)
    per_item: list[PredictedTopic | None] = []
    for want in wanted:
        if not want:
            per_item.append(None)
            continue
        prediction = next(found)
        per_item.append(
            PredictedTopic(
                topic=prediction.label,
                confidence=round(prediction.confidence, 4),
                used=prediction.confidence >= threshold,
            )
        )
    return TopicPredictions(per_item, served)


def min_confidence(served: ServedModel) -> float:
    """The setting when set, else the threshold the model chose on validation."""
    setting = get_settings().topic_min_confidence
    if setting is not None:
        return setting
    calibrated = served.model.min_confidence
    if calibrated is None:
        raise ValueError(
            f"model {served.name} {served.version} has no calibrated confidence threshold: rebuild it "
            "(queuebot train topic) or set QUEUEBOT_TOPIC_MIN_CONFIDENCE"
        )
    return float(calibrated)
