"""Sentiment monitoring end to end on real parts: a recorded stream replayed through the REST API
becomes observations per topic, hourly trends, and an alert with its evidence when negatives surge,
posted once to the Slack alerts channel."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from cli.replay import replay
from cli.streams import StreamItem
from core.jobs import TASK_ROUTES, JobKind, JobSource, Queue, SentimentItem, SentimentPayload
from db.engine import session_scope
from db.models import Job, SentimentObservation
from tests.support.slack_fake import FakeSlack
from tests.support.surge_stream import HOUR, START, surge_stream
from tests.support.waiting import ensure_not_for_a_while, wait_for
from workers.celery_app import celery_app

pytestmark = pytest.mark.usefixtures("celery_worker")


def _alerts(api: httpx.Client, topic: str) -> list[dict]:
    return list(api.get("/api/alerts", params={"topic": topic}).raise_for_status().json()["items"])


def _wait_for_alerts(api: httpx.Client, topic: str) -> list[dict]:
    """Detection runs after each batch is stored, so alerts may land after the replay returns."""
    return wait_for(lambda: _alerts(api, topic), f"an alert on {topic}")


def _alert_posts(fake_slack: FakeSlack, topic: str) -> list:
    return [
        c for c in fake_slack.calls_to("chat.postMessage", channel="CALERTS") if topic in c.params["text"]
    ]


def _wait_for_alert_posts(fake_slack: FakeSlack, topic: str) -> list:
    return wait_for(lambda: _alert_posts(fake_slack, topic), f"the alert on {topic} posted to Slack")


def _ensure_no_alert_for_a_while(api: httpx.Client, topic: str) -> None:
    ensure_not_for_a_while(lambda: _alerts(api, topic), f"an alert on {topic}", for_s=1.0)


def test_a_replayed_surge_of_negatives_raises_one_alert_with_evidence_posted_to_slack(
    api: httpx.Client, fake_slack: FakeSlack
) -> None:
    topic = f"acme-{uuid.uuid4().hex[:6]}"
    stream = surge_stream(topic)

    report = replay(
        api, stream, speed=0, batch_size=40, model="sentiment-general", given_labels=True, run_id=topic
    )

    assert report.failed_jobs == 0 and report.items == 157 and len(report.jobs) == 4
    [alert] = _wait_for_alerts(api, topic)
    assert datetime.fromisoformat(alert["window_start"]) == START + HOUR * 12
    assert alert["status"] == "open"
    assert alert["metric"] in ("negative_share", "negative_volume") and alert["value"] > alert["baseline"]
    assert len(alert["evidence"]) == 5
    assert all(item["text"].startswith("hour 12 ") and "awful" in item["text"] for item in alert["evidence"])
    [post] = _wait_for_alert_posts(fake_slack, topic)
    assert "Acknowledge" in str(post.params["blocks"])
    # The trend chart goes into the alert's thread, and the API serves the same image.
    [upload] = fake_slack.wait_for("files.completeUploadExternal", thread_ts=fake_slack.posted_ts(post))
    assert upload.params["channel_id"] == "CALERTS"
    [uploaded] = json.loads(upload.params["files"])
    chart = api.get(alert["chart_url"]).raise_for_status()
    assert chart.headers["content-type"] == "image/png"
    assert fake_slack.uploads[uploaded["id"]] == chart.content and chart.content.startswith(b"\x89PNG")

    trend = api.get("/api/trends", params={"topic": topic, "bucket": "hour"}).raise_for_status().json()
    assert [p["volume"] for p in trend["points"]] == [12] * 13 + [1]
    assert [p["negatives"] for p in trend["points"]] == [2] * 12 + [10, 0]
    assert trend["points"][12]["negative_share"] == pytest.approx(10 / 12)
    [summary] = [t for t in api.get("/api/topics").json() if t["topic"] == topic]
    assert (summary["volume"], summary["negatives"]) == (157, 34)

    again = replay(
        api, stream, speed=0, batch_size=40, model="sentiment-general", given_labels=True, run_id=topic
    )

    assert again.jobs == report.jobs  # the same run id: every batch is recognised, nothing is sent twice
    ensure_not_for_a_while(
        lambda: (
            len(_alerts(api, topic)),
            len(_alert_posts(fake_slack, topic)),
            len(fake_slack.calls_to("files.completeUploadExternal", thread_ts=fake_slack.posted_ts(post))),
        ),
        f"the alert on {topic} raised, posted or its chart uploaded again",
        happened=lambda counts: counts != (1, 1, 1),
        for_s=1.0,
    )


def test_model_labelled_items_get_their_keyword_topics_too(api: httpx.Client) -> None:
    topic = f"brand-{uuid.uuid4().hex[:6]}"
    stream = [
        StreamItem("I want my money back now", START, topic, "test"),
        StreamItem("lovely crew on this flight", START + timedelta(minutes=1), topic, "test"),
    ]

    report = replay(api, stream, speed=0, batch_size=10, model="sentiment-general", run_id=topic)

    assert report.failed_jobs == 0
    with session_scope() as session:
        rows = session.execute(
            select(
                SentimentObservation.text, SentimentObservation.topic, SentimentObservation.model_name
            ).where(SentimentObservation.job_id == report.jobs[0])
        ).all()
    assert sorted((text, row_topic) for text, row_topic, _ in rows) == sorted(
        [
            ("I want my money back now", "refunds"),
            ("I want my money back now", topic),
            ("lovely crew on this flight", topic),
        ]
    )
    assert {model for _, _, model in rows} == {"sentiment-general"}


def test_given_labels_must_all_be_given_and_times_need_a_zone(api: httpx.Client) -> None:
    missing = api.post("/api/sentiment", json={"labels": "given", "items": [{"text": "no label"}]})
    naive = api.post("/api/sentiment", json={"items": [{"text": "x", "occurred_at": "2020-01-01T10:00:00"}]})

    assert missing.status_code == 422 and "have no label" in missing.text
    assert naive.status_code == 422 and "timezone" in naive.text.lower()


def test_the_evaluation_compares_alerts_of_two_replays_bucket_by_bucket(api: httpx.Client) -> None:
    from core.settings import get_settings
    from workers.monitoring.evaluation import evaluate_monitoring

    topic = f"eval-{uuid.uuid4().hex[:6]}"
    prefix = f"h{uuid.uuid4().hex[:4]}:"
    stream = surge_stream(topic)
    as_people = [StreamItem(i.text, i.occurred_at, prefix + topic, i.source, i.label) for i in stream]
    for items, run in ((stream, f"{topic}-a"), (as_people, f"{topic}-b")):
        assert (
            replay(
                api, items, speed=0, batch_size=40, model="sentiment-general", given_labels=True, run_id=run
            ).failed_jobs
            == 0
        )

    _wait_for_alerts(api, topic)
    _wait_for_alerts(api, prefix + topic)
    with session_scope() as session:
        report = evaluate_monitoring(session, get_settings(), prefix)

    [agreement] = report.topics
    assert (agreement.topic, agreement.model_alerts, agreement.human_alerts, agreement.matched) == (
        topic,
        1,
        1,
        1,
    )
    assert agreement.model_live_as_in_order and agreement.human_live_as_in_order
    assert (report.items, report.accuracy) == (157, 1.0)
    assert report.model_alerts_matched == report.human_alerts_matched == 1.0


def test_a_bucket_is_judged_only_once_every_batch_with_earlier_items_is_stored(
    api: httpx.Client, fake_slack: FakeSlack
) -> None:
    """A batch of hour 12's first half (all neutral) is still queued while the rest of the stream is
    stored: judged then, hour 12 would look 100 % negative. The alert waits for the batch and measures
    the whole hour: 12 negatives out of 24."""
    topic = f"late-{uuid.uuid4().hex[:6]}"
    calm = [item for item in surge_stream(topic) if not item.text.startswith(("hour 12 ", "a new hour"))]
    first_half = [
        StreamItem(
            f"hour 12 early {i}: fine, thanks",
            START + HOUR * 12 + timedelta(minutes=i),
            topic,
            "test",
            "neutral",
        )
        for i in range(12)
    ]
    second_half = [
        StreamItem(
            f"hour 12 late {i}: this is awful",
            START + HOUR * 12 + timedelta(minutes=30 + i),
            topic,
            "test",
            "negative",
        )
        for i in range(12)
    ]
    closing = [StreamItem("a new hour", START + HOUR * 13, topic, "test", "neutral")]
    # The early batch's job row exists (the gateway wrote it) but its message has not reached a worker.
    payload = SentimentPayload(
        items=[
            SentimentItem(
                text=i.text, topic=i.topic, source=i.source, occurred_at=i.occurred_at, label=i.label
            )
            for i in first_half
        ],
        labels="given",
    )
    with session_scope() as session:
        job = Job(
            kind=JobKind.SENTIMENT,
            source=JobSource.API,
            input=payload.model_dump(mode="json"),
            events_from=first_half[0].occurred_at,
        )
        session.add(job)
        session.flush()
        early_job = job.id

    replay(
        api,
        calm + second_half + closing,
        speed=0,
        batch_size=40,
        model="sentiment-general",
        given_labels=True,
        run_id=topic,
    )

    _ensure_no_alert_for_a_while(api, topic)

    celery_app.send_task(TASK_ROUTES[JobKind.SENTIMENT].task_name, args=[early_job], queue=Queue.BATCH.value)

    [alert] = _wait_for_alerts(api, topic)
    assert datetime.fromisoformat(alert["window_start"]) == START + HOUR * 12
    assert alert["value"] == {"negative_share": 0.5, "negative_volume": 12.0}[alert["metric"]]
    assert len(_wait_for_alert_posts(fake_slack, topic)) == 1


@pytest.mark.parametrize("topic", ["run", "touched"])
def test_a_topic_named_like_the_detector_s_own_keys_is_judged_too(api: httpx.Client, topic: str) -> None:
    """Each topic is judged under a lock of its own; a topic's name must not make it the run's lock
    or the notes' hash, which would leave the topic waiting on a lock it can never take."""
    replay(api, surge_stream(topic), speed=0, batch_size=40, model="sentiment-general", given_labels=True)

    [alert] = _wait_for_alerts(api, topic)
    assert datetime.fromisoformat(alert["window_start"]) == START + HOUR * 12


def test_a_bucket_is_judged_even_when_the_next_batch_starts_buckets_later(api: httpx.Client) -> None:
    """The angry hour 12 ends a batch and is still filling when that batch is judged; the next batch
    starts two hours later. Judging goes on from where it stopped, so hour 12 is still judged."""
    topic = f"gap-{uuid.uuid4().hex[:6]}"
    stream = [item for item in surge_stream(topic) if item.text != "a new hour"]
    assert len(stream) == 156
    later = StreamItem("two hours later", START + HOUR * 14, topic, "test", "neutral")

    replay(api, stream, speed=0, batch_size=39, model="sentiment-general", given_labels=True, run_id=topic)
    _ensure_no_alert_for_a_while(api, topic)  # hour 12 is the latest: nothing says it is over

    replay(
        api,
        [later],
        speed=0,
        batch_size=1,
        model="sentiment-general",
        given_labels=True,
        run_id=f"{topic}-later",
    )

    [alert] = _wait_for_alerts(api, topic)
    assert datetime.fromisoformat(alert["window_start"]) == START + HOUR * 12


def test_a_chart_upload_slack_refuses_for_now_is_retried_without_posting_the_alert_twice(
    api: httpx.Client, fake_slack: FakeSlack
) -> None:
    topic = f"upload-{uuid.uuid4().hex[:6]}"
    fake_slack.fail_next("files.getUploadURLExternal", 429, "ratelimited", retry_after=1)

    stream = surge_stream(topic)
    replay(api, stream, speed=0, batch_size=40, model="sentiment-general", given_labels=True, run_id=topic)

    [post] = _wait_for_alert_posts(fake_slack, topic)
    thread_ts = fake_slack.posted_ts(post)
    [upload] = fake_slack.wait_for("files.completeUploadExternal", thread_ts=thread_ts)
    refused = [c for c in fake_slack.calls_to("files.getUploadURLExternal") if c.answer.get("ok") is False]
    assert refused and refused[-1].at < upload.at
    ensure_not_for_a_while(
        lambda: (
            len(_alert_posts(fake_slack, topic)),
            len(fake_slack.calls_to("files.completeUploadExternal", thread_ts=thread_ts)),
        ),
        f"the alert on {topic} posted or its chart uploaded again",
        happened=lambda counts: counts != (1, 1),
        for_s=1.0,
    )


def test_detection_calls_that_find_a_run_going_leave_their_topics_to_it(api: httpx.Client) -> None:
    """While one run judges, every other call only notes its topics and returns; whichever run comes
    next judges them all. Here the run lock is held through a whole replay, then given back."""
    from core import redis_keys
    from workers.monitoring.spike_detection import detect_spikes
    from workers.redis_client import redis_client

    topic = f"coalesce-{uuid.uuid4().hex[:6]}"
    run = redis_client().lock(redis_keys.SPIKES_RUN_LOCK, timeout=120)
    assert run.acquire(blocking=False)
    try:
        stream = surge_stream(topic)
        replay(api, stream, speed=0, batch_size=40, model="sentiment-general", given_labels=True)
        # Meanwhile the batches' detection calls come and go.
        _ensure_no_alert_for_a_while(api, topic)
        assert redis_client().hexists(redis_keys.SPIKES_TOUCHED, topic)
    finally:
        run.release()

    [alert_id] = detect_spikes({})

    [alert] = _wait_for_alerts(api, topic)
    assert alert["id"] == alert_id and datetime.fromisoformat(alert["window_start"]) == START + HOUR * 12
    assert not redis_client().hexists(redis_keys.SPIKES_TOUCHED, topic)
