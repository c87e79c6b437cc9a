"""Predicted topics end to end on real parts: items sent through the REST API go through Redis to a
real worker, whose sentiment job also runs the topic model (tiny, built from the BBC corpus); each
stored observation says where its topic came from; trends, alerts and their Slack posts work per
predicted topic, and a replayed headline stream gets per-topic trends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from cli.replay import replay
from cli.streams import StreamFormat, StreamItem, read_stream
from core.settings import get_settings
from db.engine import session_scope
from db.models import SentimentObservation
from tests.reliability.overrides import settings_env
from tests.support.model_fixtures import DATA_DIR
from tests.support.slack_fake import FakeSlack
from tests.support.stack_fixtures import wait_for_job
from tests.support.waiting import wait_for
from workers.ml.info import read_info
from workers.model_store import ModelStore

pytestmark = pytest.mark.usefixtures("celery_worker")

TOPICS = {"business", "entertainment", "politics", "sports", "tech"}
HEADLINES = [
    "Chelsea beat Arsenal to reach the cup final",
    "Shares fall as the central bank raises interest rates",
    "The prime minister faces a vote on the election bill",
    "New smartphone chips promise faster mobile broadband",
    "The film wins best picture at the Oscars",
]


def _sentiment(api: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    accepted = api.post("/api/sentiment", json=body)
    assert accepted.status_code == 202, accepted.text
    job = wait_for_job(api, accepted.json()["id"])
    assert job["status"] == "done", job["error"]
    return job


def _rows(job_id: str) -> list[SentimentObservation]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(SentimentObservation)
                .where(SentimentObservation.job_id == job_id)
                .order_by(SentimentObservation.item_index, SentimentObservation.id)
            )
        )


def test_an_item_without_a_topic_is_stored_under_its_predicted_topic_with_source_and_confidence(
    api: httpx.Client, tiny_models_dir: Path
) -> None:
    own = f"acme-{uuid.uuid4().hex[:6]}"
    with settings_env(topic_min_confidence=0):
        job = _sentiment(api, {"items": [{"text": HEADLINES[0]}, {"text": HEADLINES[1], "topic": own}]})

    version = ModelStore(tiny_models_dir).current_version("topic-news")
    assert job["result"]["topic_model"] == f"topic-news {version}"
    first, second = job["result"]["items"]
    predicted = first["predicted_topic"]
    assert predicted["topic"] in TOPICS and predicted["used"] is True and 0 < predicted["confidence"] <= 1
    assert first["topics"] == [predicted["topic"]]
    assert first["topic_sources"] == {predicted["topic"]: "predicted"}
    # "auto": an item with a topic of its own gets no prediction
    assert second["predicted_topic"] is None and second["topic_sources"] == {own: "given"}
    [row_one, row_two] = _rows(job["id"])
    assert (row_one.topic, row_one.topic_source) == (predicted["topic"], "predicted")
    assert row_one.topic_confidence == pytest.approx(predicted["confidence"], abs=1e-4)
    assert (row_two.topic, row_two.topic_source, row_two.topic_confidence) == (own, "given", None)
    listed = {t["topic"]: t for t in api.get("/api/topics").raise_for_status().json()}
    assert listed[predicted["topic"]]["predicted"] >= 1 and listed[own]["predicted"] == 0


def test_predict_adds_the_predicted_topic_beside_an_items_own_and_given_predicts_none(
    api: httpx.Client,
) -> None:
    own = f"acme-{uuid.uuid4().hex[:6]}"
    with settings_env(topic_min_confidence=0):
        both = _sentiment(api, {"topics": "predict", "items": [{"text": HEADLINES[2], "topic": own}]})
        none = _sentiment(api, {"topics": "given", "items": [{"text": HEADLINES[2]}]})

    [item] = both["result"]["items"]
    topic = item["predicted_topic"]["topic"]
    assert item["topics"] == [own, topic] and item["topic_sources"] == {own: "given", topic: "predicted"}
    assert [(r.topic, r.topic_source) for r in _rows(both["id"])] == [(own, "given"), (topic, "predicted")]
    [item] = none["result"]["items"]
    assert item["predicted_topic"] is None and none["result"]["topic_model"] is None
    assert item["topics"] == ["general"] and item["topic_sources"] == {"general": "default"}
    assert [(r.topic, r.topic_source) for r in _rows(none["id"])] == [("general", "default")]


def test_by_default_a_prediction_is_used_only_at_the_models_calibrated_confidence(
    api: httpx.Client, tiny_models_dir: Path
) -> None:
    threshold = read_info(ModelStore(tiny_models_dir).folder("topic-news")).data["confidence"]["threshold"]
    assert get_settings().topic_min_confidence is None

    job = _sentiment(api, {"items": [{"text": text} for text in HEADLINES]})

    for item in job["result"]["items"]:
        predicted = item["predicted_topic"]
        assert predicted["used"] == (predicted["confidence"] >= threshold)
        expected = {predicted["topic"]: "predicted"} if predicted["used"] else {"general": "default"}
        assert item["topic_sources"] == expected


def test_an_unknown_topics_mode_is_refused_naming_the_field(api: httpx.Client) -> None:
    refused = api.post("/api/sentiment", json={"topics": "guess", "items": [{"text": "hello"}]})

    assert refused.status_code == 422
    assert "topics" in refused.text


def test_a_replayed_headline_stream_gets_a_trend_for_each_predicted_topic(api: httpx.Client) -> None:
    headlines = read_stream(DATA_DIR / "streams" / "cnbc_headlines.csv", StreamFormat.CNBC)[200:260]
    with settings_env(topic_min_confidence=0):
        report = replay(api, headlines, speed=0, batch_size=30, model="sentiment-general", topics="predict")
    assert report.failed_jobs == 0 and len(report.jobs) == 2

    predicted: dict[str, int] = {}
    for job_id in report.jobs:
        for item in api.get(f"/api/jobs/{job_id}").raise_for_status().json()["result"]["items"]:
            assert item["topics"][0] == "cnbc" and item["predicted_topic"]["used"]
            predicted[item["predicted_topic"]["topic"]] = (
                predicted.get(item["predicted_topic"]["topic"], 0) + 1
            )
    assert sum(predicted.values()) == 60 and set(predicted) <= TOPICS
    window = {
        "since": headlines[0].occurred_at.isoformat(),
        "until": (headlines[-1].occurred_at + timedelta(seconds=1)).isoformat(),
    }
    for topic, count in predicted.items():
        trend = api.get("/api/trends", params={"topic": topic, "bucket": "day", **window}).raise_for_status()
        assert sum(point["volume"] for point in trend.json()["points"]) == count


def test_a_surge_on_a_predicted_topic_raises_an_alert_posted_to_slack_saying_the_topic_was_predicted(
    api: httpx.Client, fake_slack: FakeSlack
) -> None:
    # One headline, so every item gets the same predicted topic; a time of its own, so no other
    # test's items share the topic's hours.
    start = datetime(2013, 5, 1, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 1000)
    stream = []
    for hour, negatives in [*((h, 2) for h in range(12)), (12, 10)]:
        for i in range(12):
            label = "negative" if i < negatives else "neutral"
            moment = start + timedelta(hours=hour, minutes=i)
            stream.append(StreamItem(HEADLINES[1], moment, None, "test", label))
    stream.append(StreamItem(HEADLINES[1], start + timedelta(hours=13), None, "test", "neutral"))

    with settings_env(topic_min_confidence=0):
        report = replay(api, stream, speed=0, batch_size=40, model="sentiment-general", given_labels=True)
        assert report.failed_jobs == 0
        first = api.get(f"/api/jobs/{report.jobs[0]}").raise_for_status().json()
        topic = first["result"]["items"][0]["predicted_topic"]["topic"]
        window_start = (start + timedelta(hours=12)).isoformat()

        def alert() -> list[dict[str, Any]]:
            items = api.get("/api/alerts", params={"topic": topic, "limit": 200}).json()["items"]
            return [a for a in items if datetime.fromisoformat(a["window_start"]).isoformat() == window_start]

        [raised] = wait_for(alert, f"an alert on the predicted topic {topic}")
    assert all(
        e["topic_source"] == "predicted" and e["topic_confidence"] is not None for e in raised["evidence"]
    )

    def posts() -> list[Any]:
        return [
            call
            for call in fake_slack.calls_to("chat.postMessage", channel="CALERTS")
            if f"alert #{raised['id']}" in str(call.params["blocks"])
        ]

    [post] = wait_for(posts, f"alert #{raised['id']} posted to Slack")
    assert topic in post.params["text"] and "topic predicted" in str(post.params["blocks"])
