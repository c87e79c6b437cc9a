"""Measure a running product through its REST API: chat latency and sentiment batch time.

Two clocks per job: the client's (POST until the job's server-sent events show it final) and the
database's (created_at to finished_at, which excludes HTTP).
"""

from __future__ import annotations

import csv
import logging
import random
import statistics
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.api_client import ApiClient
from cli.streams import first_texts
from core.settings import get_settings

log = logging.getLogger(__name__)

JOB_TIMEOUT_S = 300.0
SAMPLE_TEXTS_FILE = Path("sentiment/twitter_financial_news/sent_valid.csv")
SUPPORT_QUESTIONS_FILE = Path("customer_support/bitext_train.csv")
# Asked now and then among the support questions, so the handoff path is timed too.
OFF_TOPIC_QUESTIONS = ("what's the weather like on Mars?", "I want to talk to a real person")


@dataclass(frozen=True)
class JobTiming:
    client_s: float
    stored_s: float
    status: str
    path: str | None = None  # a reply's path: template, generation or handoff


def _timed_job(api: ApiClient, path: str, body: dict) -> JobTiming:
    """POST a job and follow its events until it is final; a chat message's conversation id goes back
    into body. Events, not polling: clients polling every few ms kept the 2 cores busy answering GETs
    and slowed the very jobs they timed, and polling every 50 ms added up to 50 ms to the client's clock.
    Waits the server asks for (Retry-After) count in the client's clock; the database's does not see them."""
    started = time.perf_counter()
    accepted = api.submit(path, body)
    job_id = accepted["job"]["id"] if "job" in accepted else accepted["id"]
    if "conversation_id" in accepted:
        body["conversation_id"] = accepted["conversation_id"]
    job = api.follow_job(job_id, timeout_s=JOB_TIMEOUT_S)
    elapsed = time.perf_counter() - started
    stored = _seconds_between(job["created_at"], job["finished_at"])
    reply_path = (job.get("result") or {}).get("path")
    return JobTiming(client_s=elapsed, stored_s=stored, status=job["status"], path=reply_path)


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _summary(name: str, timings: list[JobTiming]) -> dict[str, object]:
    client = sorted(t.client_s for t in timings)
    stored = sorted(t.stored_s for t in timings)
    return {
        "measurement": name,
        "jobs": len(timings),
        "failed": sum(t.status != "done" for t in timings),
        "client_p50_ms": _ms(statistics.median(client)),
        "client_p95_ms": _ms(_p95(client)),
        "client_max_ms": _ms(client[-1]),
        "stored_p50_ms": _ms(statistics.median(stored)),
        "stored_p95_ms": _ms(_p95(stored)),
        "stored_max_ms": _ms(stored[-1]),
    }


def _p95(ordered: list[float]) -> float:
    return ordered[0] if len(ordered) == 1 else statistics.quantiles(ordered, n=20, method="inclusive")[18]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def support_questions(data_dir: Path, count: int, seed: int = 0) -> list[str]:
    """A seeded sample of the customer-support questions, with an off-topic one every tenth."""
    with (data_dir / SUPPORT_QUESTIONS_FILE).open(newline="", encoding="utf-8") as handle:
        questions = [row["instruction"] for row in csv.DictReader(handle)]
    chosen = random.Random(seed).sample(questions, count)
    for i in range(9, count, 10):
        chosen[i] = OFF_TOPIC_QUESTIONS[(i // 10) % len(OFF_TOPIC_QUESTIONS)]
    return chosen


def measure_conversations(
    base_url: str, token: str, data_dir: Path, conversations: int, turns: int, pause_s: float
) -> list[dict]:
    """``conversations`` customers at once, each sending ``turns`` messages one after the other: the
    next ``pause_s`` after the last was answered (a person reads and types; 0 keeps the worker
    saturated). One summary row per reply path."""
    questions = support_questions(data_dir, conversations * turns)

    def customer(number: int) -> list[JobTiming]:
        conversation: dict = {}
        timings = []
        with ApiClient.connect(base_url, token) as client:
            for turn in range(turns):
                body = {**conversation, "message": questions[number * turns + turn]}
                if turn:
                    time.sleep(pause_s)
                timings.append(_timed_job(client, "/api/chat", body))
                conversation = {"conversation_id": body["conversation_id"]}
        return timings

    with ApiClient.connect(base_url, token) as client:
        _timed_job(client, "/api/chat", {"message": "warm up"})
    with ThreadPoolExecutor(conversations) as pool:
        timings = [timing for timings in pool.map(customer, range(conversations)) for timing in timings]
    by_path: dict[str, list[JobTiming]] = defaultdict(list)
    for timing in timings:
        by_path[timing.path or timing.status].append(timing)
    label = f"{conversations} conversations, {pause_s:g} s pauses"
    rows = [_summary(f"{label}: template and handoff", by_path["template"] + by_path["handoff"])]
    rows += [_summary(f"{label}: {path} only", group) for path, group in sorted(by_path.items())]
    return rows


def measure(
    base_url: str, token: str, data_dir: Path, chats: int, batch_size: int, batches: int
) -> list[dict]:
    """Run the measurements one job at a time (no concurrency) and return one summary row each."""
    questions = [
        "I want to cancel my order",
        "how can I get a refund?",
        "where is my package",
        "I need to change my shipping address",
        "help me create an account",
    ]
    texts = first_texts(data_dir / SAMPLE_TEXTS_FILE, batch_size)
    with ApiClient.connect(base_url, token) as client:
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


def measure_command(
    url: Annotated[str, typer.Option(help="Base URL of a running product.")] = "",
    chats: Annotated[int, typer.Option(min=1, help="Chat jobs to time, one at a time.")] = 20,
    batch_size: Annotated[int, typer.Option(min=1, max=256, help="Texts per sentiment batch.")] = 100,
    batches: Annotated[int, typer.Option(min=1, help="Sentiment batches to time.")] = 5,
    conversations: Annotated[
        int, typer.Option(min=0, help="Customers chatting at once (0: skip this measurement).")
    ] = 10,
    turns: Annotated[int, typer.Option(min=1, help="Messages each of those customers sends.")] = 10,
    pause_ms: Annotated[
        int, typer.Option(min=0, help="Each customer's pause between an answer and their next message.")
    ] = 1000,
) -> None:
    """Time chat replies and sentiment batches end to end through a running product's REST API."""
    from rich.console import Console
    from rich.table import Table

    settings = get_settings()
    base_url = url or f"http://{settings.web_host}:{settings.web_port}"
    token = settings.api_token.get_secret_value()
    rows = measure(base_url, token, settings.data_dir, chats, batch_size, batches)
    if conversations:
        rows += measure_conversations(
            base_url, token, settings.data_dir, conversations, turns, pause_ms / 1000
        )
    table = Table(title=f"queuebot at {base_url}")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(value) for value in row.values()))
    Console().print(table)
