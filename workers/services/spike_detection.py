"""After a batch of observations is stored: test the topics' closed buckets for spikes, store an
alert per spike with its evidence, and have it posted to Slack.

Runs as the ``queuebot.detect_spikes`` task, once per sentiment job. Running it twice raises nothing
twice: an alert is unique per topic, metric and bucket, and a topic in its cooldown raises none.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.jobs import SLACK_ALERT_ROUTE
from core.monitoring import SpikeRule
from core.settings import get_settings
from db.engine import session_scope
from db.models import Alert, SentimentObservation
from db.trends import as_evidence, most_negative, trend
from workers.celery_app import celery_app
from workers.monitoring.spikes import Spike, buckets_to_test, spike_in_bucket
from workers.redis_client import redis_client

log = logging.getLogger(__name__)

EVIDENCE_ITEMS = 5
LOCK_TIMEOUT_S = 60


def detect_spikes(first_touched: dict[str, str]) -> list[int]:
    """``first_touched``: topic -> the earliest ``occurred_at`` (ISO) of the batch's items on it.
    Returns the ids of the alerts raised, each already sent on to Slack."""
    settings = get_settings()
    raised = []
    for topic, first in sorted(first_touched.items()):
        rule = settings.spike_rule_for(topic)
        # One detector per topic at a time: concurrent batches (a fast replay) would otherwise each
        # pass the cooldown check before either stored its alert.
        lock = redis_client().lock(f"spikes:{topic}", timeout=LOCK_TIMEOUT_S, blocking_timeout=LOCK_TIMEOUT_S)
        with lock, session_scope() as session:
            raised += _detect_topic(session, topic, datetime.fromisoformat(first), rule)
    for alert_id in raised:
        celery_app.send_task(
            SLACK_ALERT_ROUTE.task_name, args=[alert_id], queue=SLACK_ALERT_ROUTE.queue.value
        )
    return raised


def _detect_topic(session: Session, topic: str, first: datetime, rule: SpikeRule) -> list[int]:
    latest = session.scalar(
        select(func.max(SentimentObservation.occurred_at)).where(SentimentObservation.topic == topic)
    )
    if latest is None:
        return []
    buckets = buckets_to_test(first, latest, rule)
    if not buckets:
        return []
    length = rule.bucket.length
    series = trend(
        session, topic, rule.bucket, since=buckets[0] - length * rule.window, until=buckets[-1] + length
    )
    raised = []
    for bucket in buckets:
        spike = spike_in_bucket(series, bucket, rule)
        if spike is None or _cooling_down(session, topic, bucket, rule):
            continue
        alert_id = _store_alert(session, topic, spike, rule)
        if alert_id is not None:
            raised.append(alert_id)
    return raised


def _cooling_down(session: Session, topic: str, bucket: datetime, rule: SpikeRule) -> bool:
    """An alert on the topic started within ``cooldown`` buckets of this one. Both ways: batches
    stored out of order (a fast replay) may have raised the later bucket's alert first."""
    reach = rule.bucket.length * rule.cooldown
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Alert)
            .where(
                Alert.topic == topic,
                Alert.window_start >= bucket - reach,
                Alert.window_start <= bucket + reach,
            )
        )
    )


def _store_alert(session: Session, topic: str, spike: Spike, rule: SpikeRule) -> int | None:
    end = spike.bucket_start + rule.bucket.length
    evidence = [
        as_evidence(item) for item in most_negative(session, topic, spike.bucket_start, end, EVIDENCE_ITEMS)
    ]
    alert = Alert(
        topic=topic,
        window_start=spike.bucket_start,
        window_end=end,
        metric=spike.metric.value,
        baseline=spike.baseline,
        value=spike.value,
        evidence=evidence,
    )
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        # A concurrent run raised the same spike first.
        return None
    log.info(
        "alert %d: %s %s %.3f against %.3f ± %.3f (z %.1f, %d items) in %s",
        alert.id,
        topic,
        spike.metric.value,
        spike.value,
        spike.baseline,
        spike.sigma,
        spike.z,
        spike.volume,
        spike.bucket_start.isoformat(),
    )
    return alert.id
