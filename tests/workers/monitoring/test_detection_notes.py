"""What a batch notes for spike detection, in a real Redis: each topic's earliest item is kept, a run
clears only the notes it has seen, so a batch stored during a run is judged by the next pass, and a
burst of stored jobs sends one run."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from redis import Redis

from cli.redis_server import RedisServer
from core import redis_keys
from tests.support.waiting import wait_for
from workers.monitoring.spike_detection import (
    detect_spikes,
    forget_seen,
    note_touched,
    read_notes,
    request_detection,
)
from workers.redis_client import redis_client


@pytest.fixture
def redis(redis_server: RedisServer) -> Iterator[Redis]:
    client = redis_client()
    client.delete(redis_keys.SPIKES_TOUCHED)
    yield client
    client.delete(redis_keys.SPIKES_TOUCHED)


def _earliest(notes: dict[str, str], topic: str) -> int:
    return int(notes[topic].partition(":")[0])


def test_each_topic_keeps_its_earliest_item(redis: Redis) -> None:
    note_touched(redis, {"acme": "2015-02-20T12:00:00+00:00", "globex": "2015-02-20T13:00:00+00:00"})
    note_touched(redis, {"acme": "2015-02-20T14:00:00+00:00"})
    note_touched(redis, {"globex": "2015-02-20T09:30:00+00:00"})

    notes = read_notes(redis)

    assert _earliest(notes, "acme") == 1_424_433_600_000_000  # 12:00, not the later 14:00
    assert _earliest(notes, "globex") == 1_424_424_600_000_000  # 09:30


def test_a_run_clears_what_it_saw_but_not_a_batch_noted_during_it(redis: Redis) -> None:
    note_touched(redis, {"acme": "2015-02-20T12:00:00+00:00", "globex": "2015-02-20T13:00:00+00:00"})
    seen = read_notes(redis)
    # While the run judges, another batch on acme is stored: later items, so the earliest time stays.
    note_touched(redis, {"acme": "2015-02-20T15:00:00+00:00"})

    forget_seen(redis, seen)

    left = read_notes(redis)
    assert list(left) == ["acme"] and _earliest(left, "acme") == _earliest(seen, "acme")


def test_a_burst_of_stored_jobs_sends_one_detection_run_and_a_job_after_it_stops_sends_another(
    redis: Redis,
) -> None:
    # The runs are counted where they would be sent: a worker of this test session would take them
    # off the queue (and clear the mark) before the count could be read there.
    sent: list[str] = []

    def send_run() -> None:
        sent.append("run")

    redis.delete(redis_keys.SPIKES_RUN_SENT)
    try:
        for topic in ("acme", "globex", "initech"):
            request_detection({topic: "2015-02-20T12:00:00+00:00"}, send_run)
        assert len(sent) == 1  # one run for the three jobs
        assert sorted(read_notes(redis)) == ["acme", "globex", "initech"]  # and it will judge all three

        redis.delete(redis_keys.SPIKES_RUN_SENT)  # what the run does when it stops
        request_detection({"acme": "2015-02-20T13:00:00+00:00"}, send_run)
        assert len(sent) == 2
    finally:
        redis.delete(redis_keys.SPIKES_RUN_SENT)


def test_a_run_that_could_not_be_sent_leaves_no_mark_so_the_next_job_sends_one(redis: Redis) -> None:
    def broker_down() -> None:
        raise ConnectionError("broker down")

    redis.delete(redis_keys.SPIKES_RUN_SENT)
    with pytest.raises(ConnectionError):
        request_detection({"acme": "2015-02-20T12:00:00+00:00"}, broker_down)

    assert not redis.exists(redis_keys.SPIKES_RUN_SENT)
    assert "acme" in read_notes(redis)  # the note waits for the next run


@pytest.mark.usefixtures("database")
def test_a_job_stored_while_a_run_goes_sends_none_and_the_run_judges_it_before_it_stops(redis: Redis) -> None:
    sent: list[str] = []

    def send_run() -> None:
        sent.append("run")

    outcome: list[list[int]] = []
    run = threading.Thread(target=lambda: outcome.append(detect_spikes({})))
    # The run's first pass waits for this topic (the lock a pass holds while it judges one topic), so
    # the test can store a job while the run goes.
    held = redis.lock(redis_keys.SPIKES_TOPIC_LOCK + "initech", timeout=30)
    redis.delete(redis_keys.SPIKES_RUN_SENT)
    try:
        assert held.acquire(blocking=False)
        try:
            request_detection({"initech": "2015-02-20T12:00:00+00:00"}, send_run)
            assert sent == ["run"]
            redis.delete(redis_keys.SPIKES_RUN_SENT)  # as if the run sent had started: it sets the mark
            wait_for(lambda: not redis.exists(redis_keys.SPIKES_RUN_LOCK), "an earlier test's run to stop")
            run.start()
            wait_for(lambda: redis.exists(redis_keys.SPIKES_RUN_SENT), "the run to mark itself going")

            request_detection({"globex": "2015-02-20T12:00:00+00:00"}, send_run)

            assert sent == ["run"]  # the run going will judge it
        finally:
            held.release()
        run.join(timeout=30)

        assert not run.is_alive() and len(outcome) == 1  # the run has stopped
        assert "globex" not in read_notes(redis)  # judged by the same run's next pass
        assert not redis.exists(redis_keys.SPIKES_RUN_SENT)
        request_detection({"globex": "2015-02-20T13:00:00+00:00"}, send_run)
        assert sent == ["run", "run"]  # once the run has stopped, a stored job sends one again
    finally:
        redis.delete(redis_keys.SPIKES_RUN_SENT)
