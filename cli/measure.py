"""Measure a running product through its REST API: chat latency and sentiment batch time.

Two clocks per job: the client's (POST until GET shows it final, polling every few ms) and the
database's (created_at to finished_at, which excludes HTTP and polling).
"""

from __future__ import annotations

import csv
import statistics
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

POLL_INTERVAL_S = 0.005
JOB_TIMEOUT_S = 300.0
SAMPLE_TEXTS_FILE = Path("sentiment/twitter_financial_news/sent_valid.csv")


@dataclass(frozen=True)
class JobTiming:
    client_s: float
    stored_s: float
    status: str


def _timed_job(client: httpx.Client, path: str, body: dict) -> JobTiming:
    started = time.perf_counter()
    response = client.post(path, json=body)
    response.raise_for_status()
    accepted = response.json()
    job_id = accepted["job"]["id"] if "job" in accepted else accepted["id"]
    deadline = started + JOB_TIMEOUT_S
    while time.perf_counter() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            elapsed = time.perf_counter() - started
            stored = _seconds_between(job["created_at"], job["finished_at"])
            return JobTiming(client_s=elapsed, stored_s=stored, status=job["status"])
        time.sleep(POLL_INTERVAL_S)
    raise TimeoutError(f"job {job_id} not finished after {JOB_TIMEOUT_S} s")


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _sample_texts(data_dir: Path, count: int) -> list[str]:
    with (data_dir / SAMPLE_TEXTS_FILE).open(newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    if len(texts) < count:
        raise ValueError(f"{SAMPLE_TEXTS_FILE} has {len(texts)} texts, fewer than {count}")
    return texts[:count]


def _summary(name: str, timings: list[JobTiming]) -> dict[str, object]:
    client = sorted(t.client_s for t in timings)
    stored = sorted(t.stored_s for t in timings)
    return {
        "measurement": name,
        "jobs": len(timings),
        "failed": sum(t.status != "done" for t in timings),
        "client_p50_ms": round(statistics.median(client) * 1000, 1),
        "client_max_ms": round(client[-1] * 1000, 1),
        "stored_p50_ms": round(statistics.median(stored) * 1000, 1),
        "stored_max_ms": round(stored[-1] * 1000, 1),
    }


def measure(
    base_url: str, token: str, data_dir: Path, chats: int, batch_size: int, batches: int
) -> list[dict]:
    """Run the measurements one job at a time (no concurrency) and return one summary row each."""
    headers = {"Authorization": f"Bearer {token}"}
    questions = [
        "I want to cancel my order",
        "how can I get a refund?",
        "where is my package",
        "I need to change my shipping address",
        "help me create an account",
    ]
    texts = _sample_texts(data_dir, batch_size)
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        # One job of each kind first, so lazy loading or a cold cache does not count.
        _timed_job(client, "/api/chat", {"message": "warm up"})
        _timed_job(client, "/api/sentiment", {"items": [{"text": "warm up"}]})
        chat = [
            _timed_job(client, "/api/chat", {"message": questions[i % len(questions)]}) for i in range(chats)
        ]
        body = {"items": [{"text": text, "topic": "measure"} for text in texts]}
        sentiment = [_timed_job(client, "/api/sentiment", body) for _ in range(batches)]
    return [
        _summary("chat reply (1 message)", chat),
        _summary(f"sentiment batch ({batch_size} texts)", sentiment),
    ]
