"""Sentiment of a batch of stream items, stored as one observation per item."""

from __future__ import annotations

from collections import Counter
from typing import Any

from core.jobs import SENTIMENT_LABELS, SentimentPayload
from db.base import utcnow
from db.models import SentimentObservation
from workers.job_runner import JobOutcome
from workers.registry import get_registry


def classify_batch(job_id: str, job_input: dict[str, Any]) -> JobOutcome:
    payload = SentimentPayload.model_validate(job_input)
    # Through the model's micro-batcher: concurrent jobs' texts share forward passes.
    served, predictions = get_registry().classify(payload.model, [item.text for item in payload.items])
    received_at = utcnow()
    rows = []
    items = []
    for index, (item, prediction) in enumerate(zip(payload.items, predictions, strict=True)):
        scores = {label: float(prediction.scores[label]) for label in SENTIMENT_LABELS}
        score = scores["positive"] - scores["negative"]
        rows.append(
            SentimentObservation(
                job_id=job_id,
                item_index=index,
                text=item.text,
                topic=item.topic,
                source=item.source,
                label=prediction.label,
                p_negative=scores["negative"],
                p_neutral=scores["neutral"],
                p_positive=scores["positive"],
                score=score,
                model_name=served.name,
                model_version=served.version,
                occurred_at=item.occurred_at or received_at,
            )
        )
        items.append({"topic": item.topic, "label": prediction.label, "scores": scores, "score": score})
    counts = Counter(prediction.label for prediction in predictions)
    return JobOutcome(
        result={
            "count": len(items),
            "labels": {label: counts[label] for label in SENTIMENT_LABELS},
            "items": items,
        },
        model_name=served.name,
        model_version=served.version,
        rows=rows,
    )
