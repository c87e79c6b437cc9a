"""Periodic monitoring reports: for each closed period, one report per topic that had items, stored
and sent on to Slack.

Runs as the ``queuebot.make_reports`` task, which Celery beat sends every ``report_check_s``. Each run
looks at the last few closed periods, so a beat or worker that was down catches up; a report is
unique per topic and period, so runs that overlap (two beats, a redelivered task) store it once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.jobs import SLACK_REPORT_ROUTE
from core.settings import get_settings
from db.base import utcnow
from db.engine import session_scope
from db.models import Alert, Report
from db.trends import SentimentMix, arrived_by_topic, as_evidence, most_negative
from workers.celery_app import celery_app
from workers.monitoring.report_text import key_terms, summary

log = logging.getLogger(__name__)

# Closed periods each run looks at: the latest and the ones before it that a pause may have missed.
CATCH_UP_PERIODS = 3
TOP_NEGATIVE_ITEMS = 5
# Negative items read for the key terms: enough to see a theme, bounded for a busy topic.
KEY_TERM_ITEMS = 500


def closed_periods(
    now: datetime, period_s: int, grace_s: float, count: int
) -> list[tuple[datetime, datetime]]:
    """The last ``count`` periods that ended at least ``grace_s`` before ``now``, oldest first.
    Periods are aligned to the Unix epoch."""
    latest_end = int((now.timestamp() - grace_s) // period_s) * period_s
    return [
        (
            datetime.fromtimestamp(end - period_s, UTC),
            datetime.fromtimestamp(end, UTC),
        )
        for end in range(latest_end - (count - 1) * period_s, latest_end + 1, period_s)
    ]


def make_due_reports(now: datetime | None = None) -> list[int]:
    """Store the reports of the recent closed periods that have none yet; returns their ids, each
    already sent on to Slack."""
    settings = get_settings()
    periods = closed_periods(
        now or utcnow(), settings.report_period_s, settings.report_grace_s, CATCH_UP_PERIODS
    )
    made = []
    for start, end in periods:
        with session_scope() as session:
            made += _report_period(session, start, end)
    for report_id in made:
        celery_app.send_task(
            SLACK_REPORT_ROUTE.task_name, args=[report_id], queue=SLACK_REPORT_ROUTE.queue.value
        )
    return made


def _report_period(session: Session, start: datetime, end: datetime) -> list[int]:
    reported = set(
        session.scalars(select(Report.topic).where(Report.period_start == start, Report.period_end == end))
    )
    arrived = {
        topic: mix for topic, mix in arrived_by_topic(session, start, end).items() if topic not in reported
    }
    if not arrived:
        return []
    before = arrived_by_topic(session, start - (end - start), start)
    made = []
    for topic, mix in sorted(arrived.items()):
        report_id = _store_report(session, topic, start, end, mix, before.get(topic))
        if report_id is not None:
            made.append(report_id)
    return made


def _store_report(
    session: Session,
    topic: str,
    start: datetime,
    end: datetime,
    mix: SentimentMix,
    previous: SentimentMix | None,
) -> int | None:
    negatives = [
        item
        for item in most_negative(session, topic, start, end, KEY_TERM_ITEMS, arrived=True)
        if item.label == "negative"
    ]
    terms = key_terms((item.text for item in negatives), topic)
    alerts_raised = session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(Alert.topic == topic, Alert.created_at >= start, Alert.created_at < end)
    )
    report = Report(
        topic=topic,
        period_start=start,
        period_end=end,
        volume=mix.volume,
        negatives=mix.negatives,
        neutrals=mix.neutrals,
        positives=mix.positives,
        mean_score=mix.mean_score,
        previous=None
        if previous is None
        else {
            "volume": previous.volume,
            "negative_share": previous.negative_share,
            "mean_score": previous.mean_score,
        },
        alerts_raised=int(alerts_raised or 0),
        top_negative=[as_evidence(item) for item in negatives[:TOP_NEGATIVE_ITEMS]],
        key_terms=terms,
        summary=summary(topic, mix, previous, int(alerts_raised or 0), terms),
    )
    try:
        with session.begin_nested():
            session.add(report)
    except IntegrityError:
        # Another run stored this topic's report for the period first.
        return None
    log.info(
        "report %d: %s, %s to %s, %d items", report.id, topic, start.isoformat(), end.isoformat(), mix.volume
    )
    return report.id
