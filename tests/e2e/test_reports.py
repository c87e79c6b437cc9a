"""Periodic reports on real parts: a `celery beat` process asks, the worker stores one report per
topic and period of arrivals with its figures, comparison and evidence, the API serves it and Slack
gets it once."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from cli.replay import replay
from cli.streams import StreamItem
from core.jobs import JobKind, JobSource, JobStatus
from core.settings import get_settings
from db.engine import session_scope
from db.models import Job, Report, SentimentObservation
from tests.support.slack_fake import FakeSlack, SlackCall
from tests.support.stack_fixtures import celery_beat_command
from tests.support.waiting import OUTCOME_TIMEOUT_S, ensure_not_for_a_while, wait_for
from workers.monitoring.reports import closed_until, make_due_reports

START = datetime(2015, 2, 20, tzinfo=UTC)


@pytest.fixture
def beat(tmp_path: Path, celery_worker: object) -> Iterator[subprocess.Popen[bytes]]:
    """A real `celery beat` on the tests' Redis, sending the report task every second."""
    log = (tmp_path / "beat.log").open("wb")
    process = subprocess.Popen(
        celery_beat_command(tmp_path / "schedule"),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
    )
    yield process
    process.terminate()
    process.wait(timeout=30)
    log.close()


def _reports(api: httpx.Client, topic: str) -> list[dict]:
    return api.get("/api/reports", params={"topic": topic}).raise_for_status().json()["items"]


def test_beat_has_the_worker_report_each_topic_once_per_period_with_evidence_and_post_it_to_slack(
    api: httpx.Client, fake_slack: FakeSlack, beat: subprocess.Popen[bytes]
) -> None:
    topic = f"report-{uuid.uuid4().hex[:6]}"
    stream = [
        StreamItem(
            f"item {i}: " + ("flight delayed, baggage lost" if i % 3 else "lovely crew"),
            START + timedelta(minutes=i),
            topic,
            "test",
            "negative" if i % 3 else "positive",
        )
        for i in range(30)
    ]

    replay(api, stream, speed=0, batch_size=10, model="sentiment-general", given_labels=True, run_id=topic)

    # Arrivals may straddle periods; however late beat's first tick comes, every period is reported.
    reports = wait_for(
        lambda: _reports(api, topic),
        f"reports on {topic} covering 30 items",
        until=lambda reports: sum(report["volume"] for report in reports) >= 30,
    )
    assert sum(r["negatives"] for r in reports) == 20 and sum(r["positives"] for r in reports) == 10
    busiest = max(reports, key=lambda r: r["volume"])
    assert busiest["summary"].startswith(f"{busiest['volume']} items on {topic}: ")
    assert busiest["key_terms"][:3] == ["baggage", "delayed", "flight"]
    assert busiest["top_negative"] and all("delayed" in item["text"] for item in busiest["top_negative"])
    for report in reports:
        period = datetime.fromisoformat(report["period_end"]) - datetime.fromisoformat(report["period_start"])
        assert period == timedelta(seconds=get_settings().report_period_s)
        assert api.get(f"/api/reports/{report['id']}").json() == report
        wait_for(
            lambda report=report: _posts_of(fake_slack, report),
            f"report #{report['id']} posted",
            until=lambda posts: len(posts) >= 1,
            timeout_s=OUTCOME_TIMEOUT_S,
        )

    # Another run, as each beat tick asks for, reports nothing of this topic again.
    assert [made for made in make_due_reports() if made in {report["id"] for report in reports}] == []
    ensure_not_for_a_while(
        lambda: (
            len(_reports(api, topic)),
            [len(_posts_of(fake_slack, report)) for report in reports],
        ),
        f"a report on {topic} stored or posted twice",
        happened=lambda seen: seen != (len(reports), [1] * len(reports)),
    )


def _posts_of(fake_slack: FakeSlack, report: dict) -> list[SlackCall]:
    """The reports channel's posts of this report, told apart by its id: two short periods in one
    minute have the same heading."""
    mark = f"report #{report['id']} "
    return [
        call
        for call in fake_slack.calls_to("chat.postMessage", channel="CREPORTS")
        if mark in str(call.params.get("blocks"))
    ]


def _report_heading(report: dict) -> str:
    start = datetime.fromisoformat(report["period_start"])
    end = datetime.fromisoformat(report["period_end"])
    return f":bar_chart: Report on *{report['topic']}*, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"


def _store_arrivals(topic: str, arrived_at: datetime, labels: list[str]) -> None:
    with session_scope() as session:
        job = Job(kind=JobKind.SENTIMENT, source=JobSource.API, input={}, status=JobStatus.DONE)
        session.add(job)
        session.flush()
        for index, label in enumerate(labels):
            p_negative = 0.9 if label == "negative" else 0.05
            session.add(
                SentimentObservation(
                    job_id=job.id,
                    item_index=index,
                    text=f"refund {index}" if label == "negative" else f"fine {index}",
                    topic=topic,
                    source="test",
                    label=label,
                    p_negative=p_negative,
                    p_neutral=0.05,
                    p_positive=0.95 - p_negative,
                    score=0.95 - 2 * p_negative,
                    model_name="given-labels",
                    model_version="test",
                    occurred_at=START,
                    created_at=arrived_at,
                )
            )


def test_a_report_compares_with_the_period_before_and_missed_periods_are_caught_up(
    celery_worker: object,
) -> None:
    # Long ago, so no other test's arrivals share these periods.
    settings = get_settings()
    period = timedelta(seconds=settings.report_period_s)
    now = datetime(2001, 1, 1, tzinfo=UTC)
    third_end = closed_until(now, settings.report_period_s, settings.report_grace_s)
    third_start = third_end - period
    second_start, first_start = third_start - period, third_start - 2 * period
    long_missed = first_start - 1000 * period
    topic = f"compare-{uuid.uuid4().hex[:6]}"
    _store_arrivals(topic, long_missed, ["negative"])
    _store_arrivals(topic, first_start, ["negative"] * 2 + ["neutral"] * 8)
    _store_arrivals(topic, second_start, ["negative"] * 6 + ["neutral"] * 4)
    _store_arrivals(topic, third_start + period / 2, ["neutral"] * 3)
    _store_arrivals(topic, third_end, ["neutral"])  # a period not closed yet: reported later

    made = make_due_reports(now)
    again = make_due_reports(now)

    assert again == []
    with session_scope() as session:
        reports = [session.get_one(Report, report_id) for report_id in made]
        mine = sorted((r for r in reports if r.topic == topic), key=lambda r: r.period_start)
        assert [(r.period_start, r.volume, r.negatives) for r in mine] == [
            (long_missed, 1, 1),
            (first_start, 10, 2),
            (second_start, 10, 6),
            (third_start, 3, 0),
        ]
        assert mine[0].previous is None and mine[1].previous is None
        assert mine[2].previous == {"volume": 10, "negative_share": 0.2, "mean_score": pytest.approx(0.51)}
        assert (
            "Negative share up 40 points on the period before (20% of 10); volume unchanged."
            in mine[2].summary
        )
        assert mine[2].key_terms == ["refund"] and len(mine[2].top_negative) == 5
        assert mine[3].period_end == third_end


def test_a_burst_of_reports_to_one_channel_is_posted_in_full_at_the_channels_pace(
    celery_worker: object, fake_slack: FakeSlack
) -> None:
    # More reports than failed attempts allowed: each waits its turn in the channel (about one
    # post a second) and none of those waits may count as a failure.
    settings = get_settings()
    topics = [f"burst-{uuid.uuid4().hex[:6]}" for _ in range(settings.slack_delivery_max_attempts + 4)]
    now = datetime(2002, 1, 1, tzinfo=UTC)
    arrived = closed_until(now, settings.report_period_s, settings.report_grace_s) - timedelta(seconds=1)
    for topic in topics:
        _store_arrivals(topic, arrived, ["negative", "neutral"])

    made = make_due_reports(now)

    with session_scope() as session:
        reports = [session.get_one(Report, report_id) for report_id in made]
        headings = [
            _report_heading(
                {"topic": r.topic, "period_start": str(r.period_start), "period_end": str(r.period_end)}
            )
            for r in reports
            if r.topic in topics
        ]
    assert len(headings) == len(topics)
    for heading in headings:
        fake_slack.wait_for("chat.postMessage", channel="CREPORTS", text=heading, timeout_s=OUTCOME_TIMEOUT_S)
