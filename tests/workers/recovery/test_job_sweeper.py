"""The sweeper sends again exactly the work nothing will run any more, on real Redis, a real worker and
the real database: lost messages, jobs of dead worker processes, unposted Slack deliveries; and leaves
alone what is waiting in a queue or running in a live process."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest

from core.jobs import JobKind, JobSource, JobStatus
from core.settings import get_settings
from db.base import utcnow
from db.engine import session_scope
from db.models import DeliveryStatus, Job, SlackDelivery
from tests.support.slack_fake import FakeSlack
from tests.support.waiting import ensure_not_for_a_while, wait_for
from workers.recovery.broker_messages import BrokerSnapshot
from workers.recovery.liveness import ensure_heartbeat, mark_lifetime_s, this_process
from workers.recovery.sweeper import resend_orphans
from workers.redis_client import redis_client

pytestmark = pytest.mark.usefixtures("celery_worker")

GENERATE_INPUT = {"prompt": "Rain later", "max_new_tokens": 2, "seed": 3}


def _long_ago() -> timedelta:
    return timedelta(seconds=get_settings().sweep_grace_s * 2)


def _store_job(**columns: object) -> str:
    job_id = str(uuid.uuid4())
    with session_scope() as session:
        session.add(
            Job(id=job_id, kind=JobKind.GENERATE, source=JobSource.API, input=GENERATE_INPUT, **columns)
        )
    return job_id


def _job(job_id: str) -> Job:
    with session_scope() as session:
        return session.get_one(Job, job_id)


def _status(job_id: str) -> JobStatus:
    return _job(job_id).status


def _empty_broker() -> BrokerSnapshot:
    return BrokerSnapshot(taken_at=time.time())


def test_a_queued_job_whose_message_was_lost_is_sent_again_and_done_once() -> None:
    # Stored and accepted, but Redis lost its message (or the send failed after the commit).
    job_id = _store_job(enqueued_at=utcnow() - _long_ago())

    result = resend_orphans(_empty_broker())

    assert result.queued_sent_again >= 1
    wait_for(lambda: _status(job_id), f"job {job_id} done", until=lambda status: status is JobStatus.DONE)
    assert _job(job_id).attempts == 1


def test_a_queued_job_with_its_message_waiting_or_just_taken_is_left_alone() -> None:
    long_ago = utcnow() - _long_ago()
    waiting, just_taken = _store_job(enqueued_at=long_ago), _store_job(enqueued_at=long_ago)
    now = time.time()
    snapshot = BrokerSnapshot(taken_at=now, waiting_tasks={waiting}, taken_tasks={just_taken: now - 1})

    resend_orphans(snapshot)

    for job_id in (waiting, just_taken):
        job = _job(job_id)
        assert (job.status, job.enqueued_at) == (JobStatus.QUEUED, long_ago)


def test_a_queued_job_taken_by_a_worker_that_never_started_it_is_sent_again() -> None:
    job_id = _store_job(enqueued_at=utcnow() - _long_ago())
    now = time.time()
    # Taken longer ago than the grace and still unacknowledged: its worker died before the claim.
    snapshot = BrokerSnapshot(taken_at=now, taken_tasks={job_id: now - get_settings().sweep_grace_s - 5})

    resend_orphans(snapshot)

    wait_for(lambda: _status(job_id), f"job {job_id} done", until=lambda status: status is JobStatus.DONE)


def test_a_job_just_stored_is_not_sent_again_before_its_grace_is_over() -> None:
    job_id = _store_job(enqueued_at=utcnow())

    resend_orphans(_empty_broker())

    assert _job(job_id).status is JobStatus.QUEUED


@pytest.fixture
def redis_up_for_a_mark_lifetime() -> None:
    """The sweeper judges processes only once Redis has been up longer than a liveness mark lives."""
    wait_for(
        lambda: redis_client().info("server")["uptime_in_seconds"],
        "Redis up longer than a liveness mark lives",
        until=lambda uptime_s: uptime_s >= mark_lifetime_s() + 1,
    )


@pytest.mark.usefixtures("redis_up_for_a_mark_lifetime")
def test_a_running_job_of_a_dead_worker_process_goes_back_to_the_queue_and_is_done() -> None:
    job_id = _store_job(
        status=JobStatus.RUNNING, claimed_by="gone-host:4242", attempts=1, started_at=utcnow() - _long_ago()
    )

    result = resend_orphans(_empty_broker())

    assert result.running_sent_again >= 1
    wait_for(lambda: _status(job_id), f"job {job_id} done", until=lambda status: status is JobStatus.DONE)
    job = _job(job_id)
    assert job.attempts == 2 and job.claimed_by == this_process()


def test_a_running_job_of_a_live_worker_process_is_left_alone() -> None:
    ensure_heartbeat()
    job_id = _store_job(status=JobStatus.RUNNING, claimed_by=this_process(), attempts=1, started_at=utcnow())

    resend_orphans(_empty_broker())

    job = _job(job_id)
    assert (job.status, job.claimed_by, job.attempts) == (JobStatus.RUNNING, this_process(), 1)


@pytest.mark.usefixtures("redis_up_for_a_mark_lifetime")
def test_a_job_whose_runs_keep_dying_fails_with_the_reason_instead_of_running_again() -> None:
    max_attempts = get_settings().job_max_attempts
    job_id = _store_job(
        status=JobStatus.RUNNING,
        claimed_by="gone-host:4242",
        attempts=max_attempts,
        started_at=utcnow() - _long_ago(),
    )

    resend_orphans(_empty_broker())

    wait_for(lambda: _status(job_id), f"job {job_id} failed", until=lambda status: status is JobStatus.FAILED)
    job = _job(job_id)
    assert job.attempts == max_attempts
    assert f"gave up after {max_attempts} runs" in (job.error or "")


def test_a_finished_jobs_unposted_slack_delivery_is_sent_again_and_posted_once(fake_slack: FakeSlack) -> None:
    channel = f"CSWEEP{uuid.uuid4().hex[:6].upper()}"
    finished_long_ago = utcnow() - _long_ago()
    job_id = _store_job(
        status=JobStatus.DONE,
        result={"texts": ["Rain later, then sun"]},
        model_name="generator",
        model_version="v1",
        finished_at=finished_long_ago,
    )
    with session_scope() as session:
        session.add(SlackDelivery(job_id=job_id, channel=channel))

    # The sweep looks at the whole table: other tests' deliveries may be sent again with this one.
    first = resend_orphans(_empty_broker())
    fake_slack.wait_for("chat.postMessage", channel=channel)
    # A second sweep finds the delivery sent and posts nothing more.
    resend_orphans(_empty_broker())

    assert first.deliveries_sent_again >= 1
    ensure_not_for_a_while(
        lambda: len(fake_slack.calls_to("chat.postMessage", channel=channel)),
        f"a second post to {channel}",
        happened=lambda posts: posts != 1,
        for_s=1.0,
    )
    with session_scope() as session:
        delivery = session.query(SlackDelivery).filter_by(job_id=job_id).one()
        assert delivery.status is DeliveryStatus.SENT
