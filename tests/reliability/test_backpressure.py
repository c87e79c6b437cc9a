"""Backpressure: a burst far above what the workers can take keeps each kind's waiting jobs under its
bound, is refused past it with 503 and Retry-After (leaving nothing stored), lets chat replies in
while batch work is refused, and does not grow the web process's memory without bound.

The backlog is made of job rows no worker will ever see (stored, never sent to Redis), so the bound
is reached whether or not the session's worker is running by the time these tests do: the jobs the
burst gets accepted may be run, the backlog stays. Whatever a test leaves queued is marked failed at
its end, so a later worker skips it and spike detection does not wait on it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, func, select, update

from bots.slack.listeners.commands import QUEUE_FULL
from core.jobs import (
    PAYLOAD_SCHEMAS,
    TASK_ROUTES,
    JobKind,
    JobSource,
    JobStatus,
    Queue,
)
from db.base import utcnow
from db.engine import session_scope
from db.models import Job
from tests.reliability.overrides import settings_env
from tests.reliability.report import ReliabilityReport
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import SlackSender
from tests.support.stack_fixtures import ApiServer

log = logging.getLogger(__name__)

# Room each test gives a kind above the jobs other tests left waiting (their messages are in Redis).
ROOM = 12
# How much the 5,000 requests may add to the process at their peak: well above what the bursts add
# (a few MiB) plus a tiny model the session's worker may load meanwhile, far below an unbounded queue.
BURST_MEMORY_BOUND_MIB = 256
BODIES = {
    JobKind.SENTIMENT: {"items": [{"text": "the parcel arrived late", "topic": "backpressure-test"}]},
    JobKind.GENERATE: {"prompt": "Once upon a time", "max_new_tokens": 4},
    JobKind.IMAGE: {"digit": 7, "n": 2},
}
PATHS = {JobKind.SENTIMENT: "/api/sentiment", JobKind.GENERATE: "/api/generate", JobKind.IMAGE: "/api/images"}


class Backlog:
    """Queued rows of the test's own: the work already waiting when a burst arrives."""

    def __init__(self) -> None:
        self.filler_ids: list[str] = []
        self.accepted_ids: list[str] = []

    def fill(self, kind: JobKind, count: int) -> None:
        payload = PAYLOAD_SCHEMAS[kind].model_validate(BODIES[kind])
        with session_scope() as session:
            for _ in range(count):
                job = Job(
                    id=str(uuid.uuid4()),
                    kind=kind,
                    status=JobStatus.QUEUED,
                    source=JobSource.API,
                    input=payload.model_dump(mode="json"),
                    created_at=utcnow(),
                )
                session.add(job)
                self.filler_ids.append(job.id)

    def take_one(self) -> None:
        """A worker claims one job of the backlog."""
        with session_scope() as session:
            session.execute(delete(Job).where(Job.id == self.filler_ids.pop()))

    def clear(self) -> None:
        with session_scope() as session:
            session.execute(delete(Job).where(Job.id.in_(self.filler_ids)))
            session.execute(
                update(Job)
                .where(Job.id.in_(self.accepted_ids), Job.status == JobStatus.QUEUED)
                .values(
                    status=JobStatus.FAILED, error="left queued by a backpressure test", finished_at=utcnow()
                )
            )


@pytest.fixture
def backlog() -> Iterator[Backlog]:
    backlog = Backlog()
    try:
        yield backlog
    finally:
        backlog.clear()


def queued(kind: JobKind) -> int:
    with session_scope() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Job).where(Job.kind == kind, Job.status == JobStatus.QUEUED)
            )
            or 0
        )


def jobs_of(kind: JobKind) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Job).where(Job.kind == kind)) or 0


def started_since(kind: JobKind, since: datetime) -> int:
    """Jobs of the kind a worker claimed since then: each made room for one more."""
    with session_scope() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Job).where(Job.kind == kind, Job.started_at >= since)
            )
            or 0
        )


def accepted_id(response: httpx.Response) -> str:
    body = response.json()
    return body["job"]["id"] if "job" in body else body["id"]


def assert_refused(response: httpx.Response, kind: JobKind) -> None:
    assert response.status_code == 503, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert f"{kind.value} jobs are waiting" in response.json()["detail"]


class Sampler:
    """Counts the kind's queued jobs again and again while a burst runs; keeps the highest count."""

    def __init__(self, kind: JobKind) -> None:
        self.kind = kind
        self.highest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.highest = max(self.highest, queued(self.kind))
            time.sleep(0.005)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)


def properly_refused(response: httpx.Response) -> bool:
    """A 503 that tells the client when to come back: backpressure, not a failure."""
    return response.status_code == 503 and 1 <= int(response.headers.get("Retry-After", 0)) <= 60


def stored_ids(ids: list[str]) -> set[str]:
    with session_scope() as session:
        return set(session.scalars(select(Job.id).where(Job.id.in_(ids))))


@pytest.mark.parametrize("kind", [JobKind.SENTIMENT, JobKind.GENERATE, JobKind.IMAGE])
def test_a_burst_past_the_bound_is_refused_and_the_queue_never_exceeds_it(
    api: httpx.Client, backlog: Backlog, kind: JobKind, reliability_report: ReliabilityReport
) -> None:
    burst = 60
    limit = queued(kind) + ROOM
    with (
        reliability_report.scenario(f"burst far above capacity ({kind.value})") as row,
        settings_env(**{f"max_queued_{kind.value}": limit}),
    ):
        backlog.fill(kind, ROOM - 4)
        rows_before = jobs_of(kind)

        burst_started = utcnow()
        with Sampler(kind) as sampler, ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(lambda _: api.post(PATHS[kind], json=BODIES[kind]), range(burst)))
        room_made = started_since(kind, burst_started)
        accepted = [accepted_id(r) for r in responses if r.status_code == 202]
        backlog.accepted_ids += accepted

        statuses = Counter(response.status_code for response in responses)
        new_rows = jobs_of(kind) - rows_before
        row.jobs = len(responses)
        # Neither accepted nor refused with Retry-After: a server error, or good input turned away.
        row.errors = sum(r.status_code != 202 and not properly_refused(r) for r in responses)
        # The burst waits for no job to run (the worker may not be there): what is checked is that
        # every accepted job was stored, and that nothing else was. A refused request that left a
        # row behind is work its client, told to retry, will have stored twice.
        row.lost = len(set(accepted) - stored_ids(accepted))
        row.duplicated = max(0, new_rows - len(set(accepted)))
        row.detail = (
            f"{dict(sorted(statuses.items()))} for {burst} requests, 8 at a time; "
            f"{new_rows} rows stored; queued peaked at {sampler.highest} (bound {limit}); "
            f"{room_made} claimed by the worker meanwhile"
        )
        assert set(statuses) <= {202, 503}, statuses
        # Without a worker exactly 4 get in; the session's worker, if running, takes some while the
        # burst lasts and makes room for as many more, never for more than it took. (How many it takes
        # depends on the kind: image jobs take milliseconds, and on a fast machine it may keep up.)
        assert 4 <= statuses[202] <= 4 + room_made
        for response in responses:
            if response.status_code == 503:
                assert_refused(response, kind)
        assert sampler.highest <= limit
        assert queued(kind) <= limit
        # A refused request stores nothing: every new row is an accepted job.
        assert jobs_of(kind) - rows_before == statuses[202]


def test_a_refused_request_retried_with_its_idempotency_key_gets_in_once_there_is_room(
    api: httpx.Client, backlog: Backlog
) -> None:
    kind, key = JobKind.SENTIMENT, f"backpressure-{uuid.uuid4().hex}"
    headers = {"Idempotency-Key": key}
    with settings_env(max_queued_sentiment=queued(kind) + ROOM):
        backlog.fill(kind, ROOM)

        refused = api.post("/api/sentiment", json=BODIES[kind], headers=headers)
        assert_refused(refused, kind)
        with session_scope() as session:
            assert session.scalar(select(Job).where(Job.idempotency_key == key)) is None

        backlog.take_one()
        accepted = api.post("/api/sentiment", json=BODIES[kind], headers=headers)
        assert accepted.status_code == 202, accepted.text
        backlog.accepted_ids.append(accepted_id(accepted))

        # The queue is full again, and a retry of the accepted request still gets its job back.
        again = api.post("/api/sentiment", json=BODIES[kind], headers=headers)
        assert again.status_code == 200, again.text
        assert accepted_id(again) == accepted_id(accepted)


def test_chat_is_accepted_while_batch_work_is_refused(api: httpx.Client, backlog: Backlog) -> None:
    with settings_env(max_queued_sentiment=queued(JobKind.SENTIMENT) + ROOM):
        backlog.fill(JobKind.SENTIMENT, ROOM)
        assert_refused(api.post("/api/sentiment", json=BODIES[JobKind.SENTIMENT]), JobKind.SENTIMENT)

        chat = api.post("/api/chat", json={"message": "Where is my parcel?"})
        assert chat.status_code == 202, chat.text
        backlog.accepted_ids.append(accepted_id(chat))
        # Each kind has its own bound: generation still gets in beside the full sentiment backlog.
        generate = api.post("/api/generate", json=BODIES[JobKind.GENERATE])
        assert generate.status_code == 202, generate.text
        backlog.accepted_ids.append(accepted_id(generate))

    # Replies travel on a queue of their own, which batch work never fills: a person is waiting.
    assert TASK_ROUTES[JobKind.REPLY].queue is Queue.INTERACTIVE
    assert all(
        TASK_ROUTES[kind].queue is Queue.BATCH
        for kind in (JobKind.SENTIMENT, JobKind.GENERATE, JobKind.IMAGE)
    )


def test_slack_commands_past_the_bound_are_told_to_retry_and_start_nothing(
    slack: SlackSender, fake_slack: FakeSlack, backlog: Backlog
) -> None:
    """The bound is the gateway's, so it holds for every way in; Slack gets a sentence, not a 503."""
    channel = f"C{uuid.uuid4().hex[:10].upper()}"
    with settings_env(max_queued_generate=queued(JobKind.GENERATE) + ROOM):
        backlog.fill(JobKind.GENERATE, ROOM)
        rows_before = jobs_of(JobKind.GENERATE)

        response = slack.command(
            "/generate",
            "Once upon a time",
            channel=channel,
            user="UALICE",
            response_url=fake_slack.response_url("x"),
        )

    assert response.status_code == 200
    assert response.json()["text"] == QUEUE_FULL
    assert jobs_of(JobKind.GENERATE) == rows_before


class PeakRss:
    """The largest resident memory seen while the block runs, sampled every 20 ms. Not VmHWM: that
    is the whole process's high-water mark, which earlier tests (models, training) set in a full run."""

    def __enter__(self) -> PeakRss:
        self.peak = current_rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, current_rss_mib())

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, current_rss_mib())


def current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def send_burst(api_server: ApiServer, token: str, requests: int, threads: int) -> tuple[Counter[int], int]:
    """``requests`` requests from ``threads`` clients: three sentiment batches refused past the bound
    for every read of the jobs list. Returns the answers' statuses, and how many answers were
    neither a read nor a refusal with Retry-After."""

    def client_sends(index: int) -> tuple[Counter[int], int]:
        statuses: Counter[int] = Counter()
        wrong = 0
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=api_server.base_url, headers=headers, timeout=30) as client:
            for number in range(index, requests, threads):
                if number % 4 == 3:
                    response = client.get("/api/jobs", params={"limit": 20})
                    wrong += response.status_code != 200
                else:
                    response = client.post("/api/sentiment", json=BODIES[JobKind.SENTIMENT])
                    wrong += not properly_refused(response)
                statuses[response.status_code] += 1
        return statuses, wrong

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(client_sends, range(threads)))
    return sum((statuses for statuses, _ in results), Counter()), sum(wrong for _, wrong in results)


def test_a_large_burst_leaves_memory_bounded(
    api_server: ApiServer,
    backlog: Backlog,
    record_property: Callable[[str, object], None],
    monkeypatch: pytest.MonkeyPatch,
    reliability_report: ReliabilityReport,
) -> None:
    """uvicorn serves the app from a thread of this process, so this process's memory is the web
    app's (plus pytest's, and the session's in-process worker's, which may load a model meanwhile:
    so growth between the bursts is reported, not asserted). Every request is answered and the
    queue stays within its bound."""
    from core.settings import get_settings

    token = get_settings().api_token.get_secret_value()
    # pytest keeps every log record of a test in memory (for its report), which would be counted as
    # the app's: the client's line per request and the gateway's per refusal are left out.
    monkeypatch.setattr(logging.getLogger("httpx"), "level", logging.WARNING)
    monkeypatch.setattr(logging.getLogger("bots.gateway"), "level", logging.WARNING)
    # The rate limiter on (with room for the whole burst), so its Redis round trip is measured too.
    limit = queued(JobKind.SENTIMENT) + ROOM
    with (
        reliability_report.scenario("burst far above capacity (5,000 requests, memory)") as row,
        settings_env(max_queued_sentiment=limit, api_rate_limit=1_000_000),
    ):
        backlog.fill(JobKind.SENTIMENT, ROOM)
        rows_before = jobs_of(JobKind.SENTIMENT)
        rss_before = current_rss_mib()
        started = time.perf_counter()
        with PeakRss() as sampled:
            first, first_wrong = send_burst(api_server, token, 2_500, threads=8)
            rss_after_first = current_rss_mib()
            second, second_wrong = send_burst(api_server, token, 2_500, threads=8)
        elapsed_s = time.perf_counter() - started
        rss_after_second = current_rss_mib()
        statuses = first + second
        peak = sampled.peak
        new_rows = jobs_of(JobKind.SENTIMENT) - rows_before
        row.jobs = statuses.total()
        row.errors = first_wrong + second_wrong
        # The backlog is at its bound, so every batch is refused and none can be lost; a row one left
        # behind anyway is work its client, told to retry, will have stored twice.
        row.duplicated = new_rows
        row.detail = (
            f"{dict(sorted(statuses.items()))} from 8 clients, twice; {new_rows} rows stored; "
            f"peak RSS {peak:.0f} MiB, {rss_after_second - rss_after_first:+.0f} MiB over the second burst"
        )
    log.info(
        "5,000 requests in %.1f s (%s): peak RSS %.0f MiB; RSS %.0f before, %.0f after 2,500, %.0f after all",
        elapsed_s,
        dict(statuses),
        peak,
        rss_before,
        rss_after_first,
        rss_after_second,
    )
    record_property("peak_rss_mib", round(peak))
    record_property("rss_growth_second_burst_mib", round(rss_after_second - rss_after_first, 1))

    assert set(statuses) == {200, 503}, statuses
    assert queued(JobKind.SENTIMENT) <= limit
    # What the burst itself added: the process's own size depends on what earlier tests loaded.
    assert peak - rss_before < BURST_MEMORY_BOUND_MIB, (rss_before, peak)
