"""Sentiment of a batch of stream items, stored as one observation per item."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from functools import partial
from typing import Any

from core.job_results import SentimentResult
from core.jobs import GIVEN_LABELS_MODEL, SENTIMENT_LABELS, SentimentPayload
from core.settings import get_settings
from db.base import utcnow
from db.models import SentimentObservation
from workers.job_runner import JobOutcome
from workers.ml.classifier import Prediction
from workers.monitoring.spike_detection import request_detection
from workers.monitoring.topic_prediction import predict_topics
from workers.monitoring.topics import topic_rules
from workers.registry import get_registry


def classify_batch(job_id: str, job_input: dict[str, Any]) -> JobOutcome:
    payload = SentimentPayload.model_validate(job_input)
    predicted_topics = predict_topics(payload)
    if payload.labels == "given":
        model_name, model_version = GIVEN_LABELS_MODEL, "human"
        predictions = [_given(item.label) for item in payload.items]
    else:
        # Through the model's micro-batcher: concurrent jobs' texts share forward passes.
        served, predictions = get_registry().classify(payload.model, [item.text for item in payload.items])
        model_name, model_version = served.name, served.version
    rules = topic_rules(get_settings().topic_keywords)
    received_at = utcnow()
    rows: list[dict[str, Any]] = []
    items = []
    first_touched: dict[str, datetime] = {}
    for index, (item, prediction, predicted) in enumerate(
        zip(payload.items, predictions, predicted_topics.per_item, strict=True)
    ):
        scores = {label: float(prediction.scores[label]) for label in SENTIMENT_LABELS}
        score = scores["positive"] - scores["negative"]
        occurred_at = item.occurred_at or received_at
        used = predicted.topic if predicted is not None and predicted.used else None
        sources = rules.sources_of(item.text, item.topic, used)
        for topic, source in sources.items():
            rows.append(
                {
                    "job_id": job_id,
                    "item_index": index,
                    "text": item.text,
                    "topic": topic,
                    "topic_source": source,
                    "topic_confidence": predicted.confidence if source == "predicted" and predicted else None,
                    "source": item.source,
                    "label": prediction.label,
                    "p_negative": scores["negative"],
                    "p_neutral": scores["neutral"],
                    "p_positive": scores["positive"],
                    "score": score,
                    "model_name": model_name,
                    "model_version": model_version,
                    "occurred_at": occurred_at,
                }
            )
            first_touched[topic] = min(first_touched.get(topic, occurred_at), occurred_at)
        items.append(
            {
                "topics": list(sources),
                "topic_sources": sources,
                "predicted_topic": predicted,
                "label": prediction.label,
                "scores": scores,
                "score": score,
            }
        )
    counts = Counter(prediction.label for prediction in predictions)
    return JobOutcome(
        result=SentimentResult(
            count=len(items),
            labels={label: counts[label] for label in SENTIMENT_LABELS},
            items=items,
            topic_model=predicted_topics.model,
        ),
        model_name=model_name,
        model_version=model_version,
        row_values=[(SentimentObservation, rows)],
        after_stored=[
            partial(request_detection, {topic: moment.isoformat() for topic, moment in first_touched.items()})
        ],
    )


def _given(label: str | None) -> Prediction:
    """A person's label as a prediction: certain of it, so trends and evidence treat it alike."""
    assert label is not None  # the payload's validator requires it
    return Prediction(label, 1.0, {name: float(name == label) for name in SENTIMENT_LABELS})
