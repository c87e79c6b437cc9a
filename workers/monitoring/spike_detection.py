"""After a batch of observations is stored: test the topics' closed buckets for spikes, store an
alert per spike with its evidence, and have it posted to Slack.

A stored sentiment job notes its topics (:func:`request_detection`) and sends the
``queuebot.detect_spikes`` task only when no run is sent or going, so a burst of one-text jobs sends
one run, which passes over the notes once per ``spike_detection_pass_interval_s`` until none is
left. Running it twice raises nothing twice: an alert is unique per topic, metric and bucket, and a
topic in its cooldown raises none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.commands.core import Script
from redis.lock import Lock
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import redis_keys
from core.jobs import SLACK_ALERT_ROUTE, SPIKE_DETECTION_ROUTE, JobKind, JobStatus
from core.monitoring import SpikeRule
from core.settings import get_settings
from db.base import utcnow
from db.engine import session_scope
from db.models import Alert, AlertChart, Job, SentimentObservation
from db.trends import TrendPoint, as_evidence, most_negative, trend
from workers.celery_app import celery_app
from workers.metrics import count_alerts_raised
from workers.monitoring.alert_chart import render_alert_chart
from workers.monitoring.spikes import Spike, closed_buckets, spike_in_bucket
from workers.redis_client import redis_client

log = logging.getLogger(__name__)

EVIDENCE_ITEMS = 5
LOCK_TIMEOUT_S = 60
RUN_SENT_TTL_S = 60
# What the Redis keys hold (their names are in core/redis_keys.py):
# - SPIKES_JUDGED_UNTIL: topic -> the first bucket (ISO) not judged yet. Every run goes on from there,
#   so no bucket is skipped however far apart the items of successive batches fall.
# - SPIKES_HELD_BACK: topics whose next bucket waits for an unfinished batch with earlier items.
# - SPIKES_TOUCHED: topic -> "<earliest item, µs since the epoch>:<note number>" for the stored batches
#   no run has judged yet. The number (SPIKES_NOTE_NUMBER) changes with every note, even one that
#   leaves the earliest time as it was, so a run clears only the notes it has seen.
# - SPIKES_RUN_LOCK: held by the one run that judges the noted topics.
# - SPIKES_RUN_SENT: set while a run is sent and not yet started, and while a run judges (it passes
#   again until no note is left); a note made meanwhile sends none, as that run will read it. It
#   expires, so a lost message or a dead run only delays detection (beat sends a run anyway).
# - SPIKES_TOPIC_LOCK + topic: held while one topic is judged.

# Note topics, keeping each one's earliest time: ARGV is topic, µs, topic, µs, ...
_NOTE_LUA = b"""
    local number = redis.call('INCR', KEYS[2])
    for i = 1, #ARGV, 2 do
        -- Times stay strings: Lua would print a 16-digit number as 1.4e+15.
        local earliest = ARGV[i + 1]
        local current = redis.call('HGET', KEYS[1], ARGV[i])
        if current then
            local seen = string.match(current, '^(-?%d+)')
            if tonumber(seen) < tonumber(earliest) then
                earliest = seen
            end
        end
        redis.call('HSET', KEYS[1], ARGV[i], earliest .. ':' .. number)
    end
"""  # bytes: a str would need a client's encoder at import
_NOTE = Script(None, _NOTE_LUA)
# The same, then the run-sent mark (KEYS[3]) set unless it is: 1 when this call set it. One round trip
# per stored job, and the note is in place before the mark is looked at.
_NOTE_AND_MARK = Script(
    None, _NOTE_LUA + b"return redis.call('SET', KEYS[3], 1, 'NX', 'EX', %d) and 1 or 0" % RUN_SENT_TTL_S
)
# Clear the notes a run judged, unless a batch noted the topic again meanwhile: ARGV is topic, note.
_FORGET_SEEN = Script(
    None,
    b"""
    for i = 1, #ARGV, 2 do
        if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
            redis.call('HDEL', KEYS[1], ARGV[i])
        end
    end
    """,
)


def request_detection(first_touched: dict[str, str], send_run: Callable[[], None] | None = None) -> None:
    """After a sentiment job's observations are stored: note its topics and see that a run will
    judge them, sending one (``send_run``, the Celery task by default) unless a run is sent and not
    started yet, or going: either reads the notes after this one, so it sees it."""
    redis = redis_client()
    keys = [redis_keys.SPIKES_TOUCHED, redis_keys.SPIKES_NOTE_NUMBER, redis_keys.SPIKES_RUN_SENT]
    if not _NOTE_AND_MARK(keys=keys, args=_note_args(first_touched), client=redis):
        return
    try:
        (send_run or _send_run)()
    except Exception:
        # Not sent: the next stored job sends one (the notes stay until a run judges them).
        redis.delete(redis_keys.SPIKES_RUN_SENT)
        raise


def _send_run() -> None:
    celery_app.send_task(SPIKE_DETECTION_ROUTE.task_name, args=[{}], queue=SPIKE_DETECTION_ROUTE.queue.value)


def detect_spikes(first_touched: dict[str, str]) -> list[int]:
    """``first_touched``: topic -> the earliest ``occurred_at`` (ISO) of the batch's items on it.
    Returns the ids of the alerts this call raised, each already sent on to Slack.

    Each topic's buckets are judged in time order, each once its counts are final: a later item on
    the topic exists (the stream has moved past it) and no unfinished sentiment job holds items from
    before its end. Batches are stored out of order when a fast replay or several workers run them
    at once; without the second condition a bucket would be judged on part of its items and part of
    its baseline. Topics held back that way are retried by every later run; beat also sends an empty
    run every ``report_check_s`` for those no later batch comes to. Items arriving for a bucket
    already judged (a late batch) have it judged again.

    Runs coalesce: the batch's topics are noted in Redis, and one run at a time judges everything
    noted, pass after pass (at most one per ``spike_detection_pass_interval_s``) until nothing new
    is, while the calls that find a run going return at once. A burst of batches (a replay sends
    dozens at a time, a chat hundreds of one-text jobs) costs one run, not one per batch.
    """
    redis = redis_client()
    if first_touched:
        note_touched(redis, first_touched)
    raised: list[int] = []
    while True:
        run = redis.lock(redis_keys.SPIKES_RUN_LOCK, timeout=LOCK_TIMEOUT_S)
        if not run.acquire(blocking=False):
            return raised  # the run going passes again until no note is left, this one's included
        try:
            raised += _judge_until_no_notes(redis, run)
        finally:
            # From here on a stored job sends a run of its own (also when this run failed).
            redis.delete(redis_keys.SPIKES_RUN_SENT)
            run.release()
        # A note made after the last pass's look and before the mark was cleared: that job saw the
        # mark and sent no run; look again.
        if not redis.exists(redis_keys.SPIKES_TOUCHED):
            return raised


def _judge_until_no_notes(redis: Redis, run: Lock) -> list[int]:
    interval = get_settings().spike_detection_pass_interval_s
    raised: list[int] = []
    while True:
        # A burst may keep the run going for longer than the lock's timeout, which is there for a
        # run that died.
        run.reacquire()
        # Jobs stored while this run goes see the mark and send no run: it passes again for them.
        redis.set(redis_keys.SPIKES_RUN_SENT, 1, ex=RUN_SENT_TTL_S)
        started = time.monotonic()
        raised += _judge_noted(redis)
        if not redis.exists(redis_keys.SPIKES_TOUCHED):
            return raised
        # Notes keep coming (a burst): gather them for a while rather than pass after every few jobs.
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


def note_touched(redis: Redis, first_touched: dict[str, str]) -> None:
    keys = [redis_keys.SPIKES_TOUCHED, redis_keys.SPIKES_NOTE_NUMBER]
    _NOTE(keys=keys, args=_note_args(first_touched), client=redis)


def _note_args(first_touched: dict[str, str]) -> list[str | int]:
    earliest = {topic: _micros(datetime.fromisoformat(first)) for topic, first in first_touched.items()}
    return [x for pair in earliest.items() for x in pair]


def read_notes(redis: Redis) -> dict[str, str]:
    """topic -> its note, as a run sees them before judging."""
    return {topic.decode(): note.decode() for topic, note in redis.hgetall(redis_keys.SPIKES_TOUCHED).items()}


def forget_seen(redis: Redis, seen: dict[str, str]) -> None:
    if seen:
        _FORGET_SEEN(
            keys=[redis_keys.SPIKES_TOUCHED], args=[x for pair in seen.items() for x in pair], client=redis
        )


def _judge_noted(redis: Redis) -> list[int]:
    """One pass over the noted and the held-back topics; a topic's note is cleared unless a batch
    noted the topic again meanwhile."""
    settings = get_settings()
    noted = read_notes(redis)
    touched: dict[str, datetime | None] = {
        topic: _from_micros(int(note.partition(":")[0])) for topic, note in noted.items()
    }
    for topic in redis.smembers(redis_keys.SPIKES_HELD_BACK):
        touched.setdefault(topic.decode(), None)
    raised = []
    for topic, first in sorted(touched.items()):
        rule = settings.spike_rule_for(topic)
        # One detector per topic at a time, also when a run outlives its lock: two would each pass
        # the cooldown check before either stored its alert, or move the cursor past each other.
        lock = redis.lock(
            redis_keys.SPIKES_TOPIC_LOCK + topic, timeout=LOCK_TIMEOUT_S, blocking_timeout=LOCK_TIMEOUT_S
        )
        with lock, session_scope() as session:
            start = _judge_from(redis.hget(redis_keys.SPIKES_JUDGED_UNTIL, topic), first, rule)
            if start is None:
                redis.srem(redis_keys.SPIKES_HELD_BACK, topic)
                continue
            tested, judged_until, held = _detect_topic(session, topic, start, rule)
            raised += tested
            previous = redis.hget(redis_keys.SPIKES_JUDGED_UNTIL, topic)
            if previous is None or datetime.fromisoformat(previous.decode()) < judged_until:
                redis.hset(redis_keys.SPIKES_JUDGED_UNTIL, topic, judged_until.isoformat())
            if held:
                redis.sadd(redis_keys.SPIKES_HELD_BACK, topic)
            else:
                redis.srem(redis_keys.SPIKES_HELD_BACK, topic)
    forget_seen(redis, noted)
    count_alerts_raised(len(raised))  # stored and committed by now
    for alert_id in raised:
        celery_app.send_task(
            SLACK_ALERT_ROUTE.task_name, args=[alert_id], queue=SLACK_ALERT_ROUTE.queue.value
        )
    return raised


def _micros(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


def _from_micros(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)


def _judge_from(judged_until: bytes | None, first: datetime | None, rule: SpikeRule) -> datetime | None:
    """The first bucket this run judges: where the topic's judging stopped, or earlier when the batch
    brought items to buckets judged already. Without a cursor (the topic's first batch, or Redis lost
    it) the bucket before the batch's first is included: the batch may just have closed it."""
    if judged_until is None:
        return None if first is None else rule.bucket.start_of(first) - rule.bucket.length
    cursor = datetime.fromisoformat(judged_until.decode())
    return cursor if first is None else min(cursor, rule.bucket.start_of(first))


def unfinished_batches_from(session: Session) -> datetime | None:
    """The earliest item time of the sentiment jobs not stored yet; buckets ending after it may still
    grow. A job queued longer than the broker's visibility timeout is left out: its message is lost
    or failing, and it must not stop detection for good."""
    stale = utcnow() - timedelta(seconds=get_settings().broker_visibility_timeout_s)
    return session.scalar(
        select(func.min(Job.events_from)).where(
            Job.kind == JobKind.SENTIMENT,
            Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
            Job.created_at > stale,
        )
    )


def _detect_topic(
    session: Session, topic: str, start: datetime, rule: SpikeRule
) -> tuple[list[int], datetime, bool]:
    """Judges the topic's final buckets from ``start`` on. Returns the alerts raised, the first bucket
    left unjudged, and whether it waits for an unfinished batch (rather than for the stream to move
    past it)."""
    latest = session.scalar(
        select(func.max(SentimentObservation.occurred_at)).where(SentimentObservation.topic == topic)
    )
    if latest is None:
        return [], start, False
    pending_from = unfinished_batches_from(session)
    final_until = latest if pending_from is None else min(latest, pending_from)
    buckets = closed_buckets(start, final_until, rule)
    judged_until = max(start, rule.bucket.start_of(final_until))
    held = rule.bucket.start_of(final_until) < rule.bucket.start_of(latest)
    log.debug(
        "spikes on %s: judging %s to %s (latest item %s, unfinished batches from %s)",
        topic,
        start.isoformat(),
        judged_until.isoformat(),
        latest.isoformat(),
        pending_from.isoformat() if pending_from else "-",
    )
    if not buckets:
        return [], judged_until, held
    length = rule.bucket.length
    series = trend(
        session, topic, rule.bucket, since=buckets[0] - length * rule.window, until=buckets[-1] + length
    )
    raised = []
    for bucket in buckets:
        spike = spike_in_bucket(series, bucket, rule)
        if spike is None or _cooling_down(session, topic, bucket, rule):
            continue
        alert_id = _store_alert(session, topic, spike, rule, _chart(topic, series, spike, rule))
        if alert_id is not None:
            raised.append(alert_id)
    return raised, judged_until, held


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


def _chart(topic: str, series: list[TrendPoint], spike: Spike, rule: SpikeRule) -> bytes | None:
    """The alert's trend chart. An alert matters more than its picture: a chart that cannot be drawn
    is logged with its error, and the alert is raised without one."""
    try:
        return render_alert_chart(topic, series, spike, rule)
    except Exception:
        log.exception("%s: no chart for the spike in %s", topic, spike.bucket_start.isoformat())
        return None


def _store_alert(
    session: Session, topic: str, spike: Spike, rule: SpikeRule, chart: bytes | None
) -> int | None:
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
            session.flush()
            if chart is not None:
                session.add(AlertChart(alert_id=alert.id, png=chart))
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
