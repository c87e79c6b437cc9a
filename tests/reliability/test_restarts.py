"""Redis or the database stopped and started again under a steady load of API requests: while it is
down the API answers 503 with Retry-After at once; every request it accepted (202) ends done exactly
once.

- Redis comes back empty: the job rows were committed first, and the sweeper sends again the jobs
  whose messages Redis lost.
- PostgreSQL comes back with its data: the workers' claims and stores fail while it is down and their
  tasks retry with backoff (workers/retries.py); every engine's pool replaces the dropped connections
  (pool_pre_ping). SQLite is a file, with nothing to restart: on SQLite only Redis is.

Real parts: the web app under uvicorn, a Celery worker and beat in their own processes, a redis-server
stopped and started again on its port, the suite's database (PostgreSQL's private cluster stopped and
started with pg_ctl) and tiny models.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from core.jobs import JobStatus
from core.settings import get_settings
from db.engine import session_scope
from db.models import Job, Message, MessageRole, SentimentObservation
from tests.reliability.fleet import Fleet, running_fleet
from tests.reliability.report import ReliabilityReport
from tests.support.database_choice import POSTGRES
from tests.support.slack_fake import FakeSlack
from tests.support.waiting import wait_for

CLIENTS = 4
LOAD_S = 24.0
DOWN_AT_S, DOWN_FOR_S = 6.0, 6.0
SETTLE_TIMEOUT_S = 300.0
ITEMS_PER_BATCH = 2


@dataclass
class LoadTally:
    """What the clients were told."""

    sentiment_jobs: list[str] = field(default_factory=list)
    reply_jobs: list[tuple[str, int]] = field(default_factory=list)  # (job id, conversation id)
    statuses: Counter[int] = field(default_factory=Counter)
    refused_without_retry_after: int = 0
    transport_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


# What can be restarted: SQLite has no server.
RESTARTED = ["Redis", *(["PostgreSQL"] if POSTGRES is not None else [])]
SCENARIOS = {
    "Redis": "Redis restarted, empty, under load",
    "PostgreSQL": "PostgreSQL stopped and started under load",
}


@pytest.fixture
def fleet(
    tmp_path: Path, fake_slack: FakeSlack, database: str, tiny_models_dir: Path, knowledge_base: Path
) -> Iterator[Fleet]:
    with running_fleet(tmp_path, tiny_models_dir) as fleet:
        fleet.start_worker("worker")
        yield fleet


@pytest.mark.parametrize("restarted", RESTARTED)
def test_a_restart_under_load_loses_no_accepted_request_and_refuses_with_503_while_down(
    fleet: Fleet, reliability_report: ReliabilityReport, restarted: str
) -> None:
    topic = f"restart-{uuid.uuid4().hex[:6]}"
    tally = LoadTally()
    stop, start = (fleet.stop_redis, fleet.start_redis) if restarted == "Redis" else _database_stop_start()
    with reliability_report.scenario(SCENARIOS[restarted]) as row:
        stop_load = threading.Event()
        with ThreadPoolExecutor(CLIENTS) as pool:
            clients = [
                pool.submit(_client, fleet.web_url, topic, client, tally, stop_load)
                for client in range(CLIENTS)
            ]
            time.sleep(DOWN_AT_S)
            stop()
            time.sleep(DOWN_FOR_S)
            start()
            time.sleep(LOAD_S - DOWN_AT_S - DOWN_FOR_S)
            stop_load.set()
            for client in clients:
                client.result()

        accepted = [*tally.sentiment_jobs, *(job_id for job_id, _ in tally.reply_jobs)]
        settled = _wait_until_final(accepted)
        statuses = _statuses(accepted)
        observations = _observations_per_job(tally.sentiment_jobs)
        replies = _replies_per_conversation([conversation for _, conversation in tally.reply_jobs])

        row.jobs = sum(tally.statuses.values()) + tally.transport_errors
        row.lost = sum(
            1 for job_id in accepted if statuses.get(job_id) not in (JobStatus.DONE, JobStatus.FAILED)
        )
        row.errors = (
            sum(1 for job_id in accepted if statuses.get(job_id) is JobStatus.FAILED)
            + sum(count for code, count in tally.statuses.items() if code >= 500 and code != 503)
            + tally.refused_without_retry_after
            + tally.transport_errors
        )
        row.duplicated = sum(
            1 for job_id in tally.sentiment_jobs if observations.get(job_id, 0) > ITEMS_PER_BATCH
        ) + sum(1 for _, conversation in tally.reply_jobs if replies.get(conversation, 0) > 1)
        row.detail = (
            f"answers {dict(sorted(tally.statuses.items()))}, {tally.transport_errors} transport errors; "
            f"{len(accepted)} accepted, settled: {settled}; worker restarts: {fleet.restarts['worker']}; "
            f"{restarted} down {DOWN_FOR_S:.0f} s of {LOAD_S:.0f} s{_failures(accepted)}"
        )

    assert tally.statuses[503] > 0, f"the load should have met {restarted} down"
    assert (row.lost, row.duplicated, row.errors) == (0, 0, 0), row.detail


def _database_stop_start() -> tuple[Callable[[], None], Callable[[], None]]:
    assert POSTGRES is not None
    return POSTGRES.stop, POSTGRES.start


def _client(base_url: str, topic: str, index: int, tally: LoadTally, stop: threading.Event) -> None:
    token = get_settings().api_token.get_secret_value()
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        sent = 0
        while not stop.is_set():
            sent += 1
            chat = sent % 2 == 0
            try:
                if chat:
                    response = client.post("/api/chat", json={"message": "Where is my package?"})
                else:
                    items = [
                        {"text": f"client {index} item {sent}.{i}: the flight was late", "topic": topic}
                        for i in range(ITEMS_PER_BATCH)
                    ]
                    response = client.post("/api/sentiment", json={"items": items})
            except httpx.TransportError:
                with tally.lock:
                    tally.transport_errors += 1
                continue
            with tally.lock:
                tally.statuses[response.status_code] += 1
                if response.status_code == 202:
                    body = response.json()
                    if chat:
                        tally.reply_jobs.append((body["job"]["id"], body["conversation_id"]))
                    else:
                        tally.sentiment_jobs.append(body["id"])
                elif response.status_code == 503 and not response.headers.get("Retry-After"):
                    tally.refused_without_retry_after += 1
            if response.status_code == 503:
                time.sleep(0.2)  # a client honouring Retry-After would wait longer; this one keeps pressing


def _wait_until_final(job_ids: list[str]) -> str:
    """The jobs' status counts once all are done or failed; if time runs out, how far they got: the
    scenario counts the jobs left over as lost, in its report row, rather than failing here."""
    try:
        counts = wait_for(
            lambda: Counter(status.value for status in _statuses(job_ids).values()),
            f"{len(job_ids)} accepted jobs done or failed",
            until=lambda counts: counts["done"] + counts["failed"] == len(job_ids),
            timeout_s=SETTLE_TIMEOUT_S,
            interval_s=0.5,
        )
    except AssertionError as error:
        return str(error)
    return str(dict(counts))


def _statuses(job_ids: list[str]) -> dict[str, JobStatus]:
    with session_scope() as session:
        return dict(session.execute(select(Job.id, Job.status).where(Job.id.in_(job_ids))).all())


def _failures(job_ids: list[str]) -> str:
    """Why the failed jobs failed, for the report's detail: the scenario's faults should fail none."""
    with session_scope() as session:
        failed = session.execute(
            select(Job.id, Job.kind, Job.error)
            .where(Job.id.in_(job_ids), Job.status == JobStatus.FAILED)
            .limit(3)
        ).all()
    return "".join(f"; {kind.value} job {job_id} failed: {error}" for job_id, kind, error in failed)


def _observations_per_job(job_ids: list[str]) -> dict[str, int]:
    with session_scope() as session:
        return dict(
            session.execute(
                select(SentimentObservation.job_id, func.count())
                .where(SentimentObservation.job_id.in_(job_ids))
                .group_by(SentimentObservation.job_id)
            ).all()
        )


def _replies_per_conversation(conversation_ids: list[int]) -> dict[int, int]:
    with session_scope() as session:
        return dict(
            session.execute(
                select(Message.conversation_id, func.count())
                .where(Message.conversation_id.in_(conversation_ids), Message.role == MessageRole.BOT)
                .group_by(Message.conversation_id)
            ).all()
        )
