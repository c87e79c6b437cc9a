"""Periodic monitoring reports: for each closed period, one report per topic that had items, stored
and sent on to Slack.

Runs as the ``queuebot.make_reports`` task, which Celery beat sends every ``report_check_s``. A run
reports every closed period that has arrivals and no report yet, however long ago it closed: a beat,
worker or queue that was slow or down for any number of periods delays reports, never loses them.
Periods before the newest one reported have been looked at (runs go oldest first), so a run starts
there and steps from one arrival to the next period that has any, an index seek each. A report is
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
from db.models import Alert, Report, SentimentObservation
from db.trends import SentimentMix, arrived_by_topic, as_evidence, most_negative
from workers.celery_app import celery_app
from workers.monitoring.report_text import key_terms, summary

log = logging.getLogger(__name__)

TOP_NEGATIVE_ITEMS = 5
# Negative items read for the key terms: enough to see a theme, bounded for a busy topic.
KEY_TERM_ITEMS = 500


def period_containing(moment: datetime, period_s: int) -> tuple[datetime, datetime]:
    """The report period [start, end) that ``moment`` falls in; periods are aligned to the Unix epoch."""
    start = int(moment.timestamp() // period_s) * period_s
    return datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(start + period_s, UTC)


def closed_until(now: datetime, period_s: int, grace_s: float) -> datetime:
    """The end of the latest period that ended at least ``grace_s`` before ``now``: a batch being
    stored at the boundary has landed by then."""
    return datetime.fromtimestamp(int((now.timestamp() - grace_s) // period_s) * period_s, UTC)


def make_due_reports(now: datetime | None = None) -> list[int]:
    """Store the reports of the closed periods that have none yet; returns their ids, each already
    sent on to Slack."""
    settings = get_settings()
    until = closed_until(now or utcnow(), settings.report_period_s, settings.report_grace_s)
    made: list[int] = []
    periods = 0
    with session_scope() as session:
        cursor = _resume_from(session, until)
    while True:
        with session_scope() as session:
            period = _next_period_with_arrivals(session, cursor, until, settings.report_period_s)
            if period is None:
                break
            stored = _report_period(session, *period)
        # Sent once committed, period by period, so a run cut short has posted what it stored.
        for report_id in stored:
            celery_app.send_task(
                SLACK_REPORT_ROUTE.task_name, args=[report_id], queue=SLACK_REPORT_ROUTE.queue.value
            )
        made += stored
        periods += 1
        cursor = period[1]
    if periods > 1:
        log.info("reports: looked at %d periods with arrivals, stored %d reports", periods, len(made))
    return made


def _resume_from(session: Session, until: datetime) -> datetime | None:
    """Where a run starts looking: the newest reported period (looked at again, for a topic whose
    items landed there after its report), or the first arrival when nothing has been reported. An
    item whose transaction commits more than ``report_grace_s`` after its period ended, into a period
    older than that, is not counted: the grace is what that costs."""
    return session.scalar(select(func.max(Report.period_start)).where(Report.period_end <= until))


def _next_period_with_arrivals(
    session: Session, since: datetime | None, until: datetime, period_s: int
) -> tuple[datetime, datetime] | None:
    arrived = SentimentObservation.created_at
    query = select(func.min(arrived)).where(arrived < until)
    if since is not None:
        query = query.where(arrived >= since)
    first = session.scalar(query)
    return None if first is None else period_containing(first, period_s)


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
