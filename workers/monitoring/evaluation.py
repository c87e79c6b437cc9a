"""How far the model's labels change what monitoring raises: one stream replayed twice, once with
the model's labels and once with people's (``queuebot replay --labels given --topic-prefix P``).

Alerts are computed from each finished series in time order (``spikes_in_order``), so the figures
do not depend on the order in which a fast replay's batches happened to be stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from core.settings import Settings
from db.models import Alert, SentimentObservation
from db.trends import topics, trend
from workers.monitoring.spikes import spikes_in_order


@dataclass(frozen=True)
class TopicAgreement:
    topic: str
    model_alerts: int
    human_alerts: int
    matched: int  # alerts of the two runs on the same bucket
    # Whether the alerts the live detector stored during each replay are exactly those of the time
    # order: batches of a fast replay are stored out of order, and the detector must not care.
    model_live_as_in_order: bool
    human_live_as_in_order: bool


@dataclass(frozen=True)
class MonitoringEvaluation:
    items: int  # items labelled by both
    accuracy: float  # share of them where the model's label is the person's
    topics: list[TopicAgreement]

    @property
    def model_alerts_matched(self) -> float:
        total = sum(t.model_alerts for t in self.topics)
        return sum(t.matched for t in self.topics) / total if total else 1.0

    @property
    def human_alerts_matched(self) -> float:
        total = sum(t.human_alerts for t in self.topics)
        return sum(t.matched for t in self.topics) / total if total else 1.0


def evaluate_monitoring(session: Session, settings: Settings, human_prefix: str) -> MonitoringEvaluation:
    known = {summary.topic for summary in topics(session)}
    pairs = sorted(t for t in known if not t.startswith(human_prefix) and human_prefix + t in known)
    if not pairs:
        raise ValueError(
            f"no topic has a counterpart '{human_prefix}<topic>': replay the stream with given labels"
        )
    agreements = []
    for topic in pairs:
        rule = settings.spike_rule_for(topic)
        model = {spike.bucket_start for spike in spikes_in_order(trend(session, topic, rule.bucket), rule)}
        human_series = trend(session, human_prefix + topic, rule.bucket)
        human = {spike.bucket_start for spike in spikes_in_order(human_series, rule)}
        agreements.append(
            TopicAgreement(
                topic,
                len(model),
                len(human),
                len(model & human),
                _stored_alert_buckets(session, topic) == model,
                _stored_alert_buckets(session, human_prefix + topic) == human,
            )
        )
    items, correct = _label_agreement(session, pairs, human_prefix)
    return MonitoringEvaluation(items, correct / items if items else 0.0, agreements)


def _stored_alert_buckets(session: Session, topic: str) -> set[datetime]:
    return {
        _as_utc(start) for start in session.scalars(select(Alert.window_start).where(Alert.topic == topic))
    }


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _label_agreement(session: Session, pairs: list[str], human_prefix: str) -> tuple[int, int]:
    """(items seen in both runs, items where the labels agree), matched on topic, time and text."""
    human = aliased(SentimentObservation)
    model = SentimentObservation
    joined = (
        select(func.count(), func.sum(case((model.label == human.label, 1), else_=0)))
        .select_from(model)
        .join(
            human,
            and_(
                human.topic == human_prefix + model.topic,
                human.occurred_at == model.occurred_at,
                human.text == model.text,
            ),
        )
        .where(model.topic.in_(pairs))
    )
    count, correct = session.execute(joined).one()
    return int(count or 0), int(correct or 0)
