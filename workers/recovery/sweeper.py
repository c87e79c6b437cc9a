"""The sweeper: finds work that nothing will run any more and sends it again.

Redis is only the delivery mechanism; the jobs table says what is owed. Work is orphaned when:

- a job is **queued** but no message for it is waiting in a queue or was recently taken by a worker:
  the gateway stored it and could not send it (the broker went down in between), Redis restarted
  without its data, or a worker took the message and died before starting it;
- a job is **running** in a worker process that has stopped beating (workers/recovery/liveness.py): killed,
  out of memory, its machine gone; or its run has lasted longer than the hard time limit allows, so
  it ended without storing anything. It goes back to queued and is sent again;
- a finished job's **Slack delivery** is pending with no message for it: its worker died between
  storing the result and posting it.

Sending again is safe because every task is idempotent (workers/job_runner.py, the delivery lease),
so the sweeper may err towards sending; what it must not do is send again and again the work that is
merely waiting in a long queue, which is why it looks in the broker first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from core import redis_keys
from core.jobs import SLACK_DELIVERY_ROUTE, JobKind, JobStatus
from core.settings import get_settings
from db.base import utcnow
from db.engine import session_scope
from db.models import DeliveryStatus, Job, SlackDelivery
from workers.celery_app import celery_app
from workers.job_messages import send_job_message
from workers.recovery.broker_messages import BrokerSnapshot, take_snapshot
from workers.recovery.liveness import alive, liveness_known
from workers.redis_client import redis_client
from workers.slack.coordination import delivery_lease_held

log = logging.getLogger(__name__)

# Rows looked at per sweep and kind of orphan; a bigger backlog is worked off over several sweeps.
BATCH = 5_000


@dataclass(frozen=True)
class SweepResult:
    queued_sent_again: int = 0
    running_sent_again: int = 0
    deliveries_sent_again: int = 0

    @property
    def total(self) -> int:
        return self.queued_sent_again + self.running_sent_again + self.deliveries_sent_again


def sweep() -> SweepResult | None:
    """One sweep; None when another sweep is running."""
    settings = get_settings()
    client = redis_client()
    # The lock outlives a sweep's interval, so overlapping beats never sweep twice at once; released
    # when done.
    if not client.set(
        redis_keys.SWEEP_RUNNING, 1, nx=True, px=int(max(settings.sweep_interval_s, 60) * 1000)
    ):
        log.info("another sweep is running")
        return None
    try:
        # Broker first, database second: a job still queued in the database after the broker was
        # read was not started when it was read, so its message, if any, is in the snapshot.
        result = resend_orphans(take_snapshot())
    finally:
        client.delete(redis_keys.SWEEP_RUNNING)
    if result.total:
        log.warning(
            "sweep sent again %d queued jobs without a message, %d running jobs whose run was lost, "
            "%d Slack deliveries",
            result.queued_sent_again,
            result.running_sent_again,
            result.deliveries_sent_again,
        )
    return result


def resend_orphans(snapshot: BrokerSnapshot) -> SweepResult:
    """Send again the work that the jobs table owes and ``snapshot`` (read just before) holds no
    message for."""
    grace_s = get_settings().sweep_grace_s
    cutoff = utcnow() - timedelta(seconds=grace_s)
    queued = _resend_queued(snapshot, grace_s, cutoff)
    running = _resend_running_orphans(liveness_known(), grace_s)
    deliveries = _resend_deliveries(snapshot, grace_s, cutoff)
    return SweepResult(queued, running, deliveries)


def _resend_queued(snapshot: BrokerSnapshot, grace_s: float, cutoff: datetime) -> int:
    stale = or_(Job.enqueued_at.is_(None), Job.enqueued_at < cutoff)
    with session_scope() as session:
        rows = session.execute(
            select(Job.id, Job.kind)
            .where(Job.status == JobStatus.QUEUED, stale)
            .order_by(Job.created_at)
            .limit(BATCH)
        ).all()
        orphans = [(job_id, kind) for job_id, kind in rows if not snapshot.holds_task(job_id, grace_s)]
        # Conditional, so a job started or re-sent since it was read is left alone.
        sent = _mark_enqueued(session, orphans, Job.status == JobStatus.QUEUED, stale)
    return _send(sent)


def _resend_running_orphans(judge_liveness: bool, grace_s: float) -> int:
    """Running jobs whose process stopped beating, and runs that outlasted the hard time limit (their
    process lives, but the run ended without a word: a retry that never reached the broker)."""
    overdue = utcnow() - timedelta(seconds=get_settings().task_hard_time_limit_s + grace_s)
    with session_scope() as session:
        rows = session.execute(
            select(Job.id, Job.kind, Job.claimed_by, Job.started_at)
            .where(Job.status == JobStatus.RUNNING)
            .limit(BATCH)
        ).all()
        claimers = {claimed_by for _, _, claimed_by, _ in rows if claimed_by is not None}
        dead = claimers - alive(claimers) if judge_liveness else set()
        sent: list[tuple[str, JobKind]] = []
        for job_id, kind, claimed_by, started_at in rows:
            if claimed_by in dead:
                reason = f"its worker {claimed_by} stopped beating"
            elif started_at is None or started_at < overdue:
                reason = "its run outlasted the hard time limit"
            else:
                continue
            # Conditional on the same run: a job claimed again since it was read is left alone.
            back_to_queue = session.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.status == JobStatus.RUNNING,
                    Job.claimed_by == claimed_by,
                    Job.started_at == started_at,
                )
                .values(status=JobStatus.QUEUED, claimed_by=None, enqueued_at=utcnow())
            ).rowcount
            if back_to_queue:
                log.warning("job %s: %s; the job goes back to the queue", job_id, reason)
                sent.append((job_id, kind))
    return _send(sent)


def _resend_deliveries(snapshot: BrokerSnapshot, grace_s: float, cutoff: datetime) -> int:
    with session_scope() as session:
        pending = session.scalars(
            select(SlackDelivery.id)
            .join(Job, Job.id == SlackDelivery.job_id)
            .where(
                SlackDelivery.status == DeliveryStatus.PENDING,
                Job.status.in_((JobStatus.DONE, JobStatus.FAILED)),
                Job.finished_at < cutoff,
            )
            .limit(BATCH)
        ).all()
    orphans = [
        delivery_id
        for delivery_id in pending
        if not snapshot.holds_delivery(delivery_id, grace_s) and not delivery_lease_held(delivery_id)
    ]
    for delivery_id in orphans:
        celery_app.send_task(
            SLACK_DELIVERY_ROUTE.task_name, args=[delivery_id], queue=SLACK_DELIVERY_ROUTE.queue.value
        )
    return len(orphans)


def _mark_enqueued(
    session: Session, jobs: list[tuple[str, JobKind]], *conditions: ColumnElement[bool]
) -> list[tuple[str, JobKind]]:
    marked = []
    now = utcnow()
    for job_id, kind in jobs:
        if session.execute(update(Job).where(Job.id == job_id, *conditions).values(enqueued_at=now)).rowcount:
            marked.append((job_id, kind))
    return marked


def _send(jobs: list[tuple[str, JobKind]]) -> int:
    # After the commit, like the gateway: a message never names a row that is not stored. A send that
    # fails leaves the job queued with a fresh enqueued_at; a later sweep tries again.
    for job_id, kind in jobs:
        send_job_message(job_id, kind)
    return len(jobs)
