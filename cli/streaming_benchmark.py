"""``queuebot benchmark-streaming``: what streaming a generation's text buys, and what it costs.

64-token generations through the REST API, a worker and Redis (a private stack on free ports, like
``queuebot benchmark``), at 1 and at 16 concurrent requests. Each request is timed from its POST to
its first ``token`` event on /api/jobs/{id}/events (time to first token) and to its ``done`` event
(total). The same jobs (same prompts, same seeds, so the same tokens are decoded) run on a worker with
streaming on and on one with ``stream_generated_text`` off. Both workers stay up with their models
loaded, and the generation queue is handed from one to the other round by round, a few seconds
apart, so the machine's drift between minutes (often larger than the cost being measured) hits both
alike. Figures depend on the machine: compare only those of one run.
"""

from __future__ import annotations

import logging
import os
import socket
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import typer

from cli.embedded import Child, EmbeddedStack, private_settings
from cli.process_cpu import CpuMeter
from cli.server_events import server_events
from cli.streams import StreamFormat, read_stream
from core.jobs import TASK_ROUTES, JobKind
from core.settings import Settings, get_settings

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

PROMPTS_FILE = "streams/cnbc_headlines.csv"
# Requests per round and case: 16 one after another at concurrency 1, one wave of 16 at 16.
REQUESTS_PER_CASE = 16
GENERATION_QUEUE = TASK_ROUTES[JobKind.GENERATE].queue.value
CONTROL_TIMEOUT_S = 10.0
TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Timing:
    first_token_s: float | None  # None: no token event came before "done" (streaming off)
    total_s: float
    round: int = 0


@dataclass
class Timings:
    by_case: dict[tuple[bool, int], list[Timing]] = field(default_factory=dict)
    # CPU seconds each process spent on the case's requests: where streaming's cost goes.
    cpu_by_case: dict[tuple[bool, int], dict[str, float]] = field(default_factory=dict)

    def add(self, streaming: bool, concurrency: int, timings: list[Timing]) -> None:
        self.by_case.setdefault((streaming, concurrency), []).extend(timings)

    def overhead(self, concurrency: int) -> float:
        """Mean total with streaming on over the same with it off."""
        return self._mean_total(True, concurrency) / self._mean_total(False, concurrency)

    def overhead_by_round(self, concurrency: int) -> list[float]:
        """The same, round by round: its spread is what the machine's drift leaves in the overall figure."""
        rounds = sorted({timing.round for timing in self.by_case[(True, concurrency)]})
        return [
            self._mean_total(True, concurrency, number) / self._mean_total(False, concurrency, number)
            for number in rounds
        ]

    def _mean_total(self, streaming: bool, concurrency: int, round_number: int | None = None) -> float:
        return statistics.fmean(
            timing.total_s
            for timing in self.by_case[(streaming, concurrency)]
            if round_number is None or timing.round == round_number
        )

    def add_cpu(self, streaming: bool, concurrency: int, spent: dict[str, float]) -> None:
        case = self.cpu_by_case.setdefault((streaming, concurrency), {})
        for name, seconds in spent.items():
            case[name] = case.get(name, 0.0) + seconds

    def cpu_ms_per_request(self, streaming: bool, concurrency: int) -> dict[str, float]:
        requests = len(self.by_case[(streaming, concurrency)])
        return {name: s * 1000 / requests for name, s in self.cpu_by_case[(streaming, concurrency)].items()}


def run_streaming_benchmark(
    settings: Settings, concurrencies: tuple[int, ...], tokens: int, rounds: int
) -> Timings:
    # News headlines as prompts: the generator's own domain (it is fine-tuned on news).
    headlines = read_stream(settings.data_dir / PROMPTS_FILE, StreamFormat.CNBC)
    prompts = [item.text for item in headlines[: REQUESTS_PER_CASE * rounds]]
    timings = Timings()
    with tempfile.TemporaryDirectory(prefix="queuebot-streaming-") as scratch:
        private = private_settings(settings, Path(scratch))
        stack = EmbeddedStack(private)
        try:
            stack.start_storage()
            web = stack.start_web()
            workers: dict[bool, Child] = {}
            for streaming in (True, False):
                workers[streaming] = EmbeddedStack(
                    private.model_copy(update={"stream_generated_text": streaming})
                ).start_worker(
                    _worker_name(streaming),
                    queues=[GENERATION_QUEUE],
                    pool=settings.worker_pool,
                    concurrency=settings.worker_concurrency,
                )
                stack.children.append(workers[streaming])  # stopped with the stack
            from workers.celery_app import create_celery_app

            switch = _ConsumerSwitch(create_celery_app(private))
            switch.wait_until_ready()
            token = private.api_token.get_secret_value()
            with httpx.Client(
                base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT_S
            ) as client:
                for streaming in (True, False):
                    switch.serve_with(streaming)
                    _follow(client, "Warm up", 1, seed=0)  # each worker's first job, out of the figures
                for round_number in range(rounds):
                    requests = [
                        (prompts[(round_number * REQUESTS_PER_CASE + i) % len(prompts)], 1000 + i)
                        for i in range(REQUESTS_PER_CASE)
                    ]
                    # Alternate which goes first, so neither always meets the warmer (or cooler) machine.
                    for streaming in (True, False) if round_number % 2 == 0 else (False, True):
                        switch.serve_with(streaming)
                        processes = _processes(stack, web, workers[streaming])
                        for concurrency in concurrencies:
                            cpu = CpuMeter(processes)
                            for wave in range(0, len(requests), concurrency):
                                timings.add(
                                    streaming,
                                    concurrency,
                                    _concurrent(
                                        client, requests[wave : wave + concurrency], tokens, round_number
                                    ),
                                )
                            timings.add_cpu(streaming, concurrency, cpu.spent())
                    log.info("round %d of %d: done", round_number + 1, rounds)
        finally:
            stack.stop()
    return timings


def _worker_name(streaming: bool) -> str:
    return "streaming-on" if streaming else "streaming-off"


class _ConsumerSwitch:
    """Which of the two workers takes the generation jobs: the other stops consuming their queue
    (Celery's remote control), and waits idle, its models loaded. Switching takes a moment, where
    restarting a worker took many seconds, so the two alternate every few seconds and meet the same
    minutes of the machine's drift."""

    def __init__(self, app: Celery) -> None:
        self._app = app
        self._host = socket.gethostname()

    def wait_until_ready(self, timeout_s: float = TIMEOUT_S) -> None:
        """Until both workers answer: they take control commands only once their models are loaded."""
        deadline = time.monotonic() + timeout_s
        waiting = {f"{_worker_name(streaming)}@{self._host}" for streaming in (True, False)}
        while waiting:
            for reply in self._app.control.ping(destination=list(waiting), timeout=1.0):
                waiting -= set(reply)
            if waiting and time.monotonic() > deadline:
                raise TimeoutError(f"workers {sorted(waiting)} not ready after {timeout_s:.0f} s")

    def serve_with(self, streaming: bool) -> None:
        self._control("cancel_consumer", _worker_name(not streaming))
        self._control("add_consumer", _worker_name(streaming))

    def _control(self, command: str, worker: str) -> None:
        destination = f"{worker}@{self._host}"
        replies = getattr(self._app.control, command)(
            GENERATION_QUEUE, destination=[destination], reply=True, timeout=CONTROL_TIMEOUT_S
        )
        if not replies:
            raise RuntimeError(f"worker {destination} did not answer {command} in {CONTROL_TIMEOUT_S:.0f} s")


def _processes(stack: EmbeddedStack, web: Child, worker: Child) -> dict[str, int]:
    processes = {"web": web.process.pid, "worker": worker.process.pid}
    if stack.redis is not None and stack.redis.process is not None:
        processes["redis"] = stack.redis.process.pid
    processes["this client"] = os.getpid()
    return processes


def _concurrent(
    client: httpx.Client, requests: list[tuple[str, int]], tokens: int, round_number: int
) -> list[Timing]:
    with ThreadPoolExecutor(len(requests)) as pool:
        timings = pool.map(lambda request: _follow(client, request[0], tokens, request[1]), requests)
        return [replace(timing, round=round_number) for timing in timings]


def _follow(client: httpx.Client, prompt: str, tokens: int, seed: int) -> Timing:
    """One generation: POST it, then follow its events until it is done."""
    started = time.perf_counter()
    response = client.post("/api/generate", json={"prompt": prompt, "max_new_tokens": tokens, "seed": seed})
    response.raise_for_status()
    job_id = response.json()["id"]
    first_token: float | None = None
    with client.stream("GET", f"/api/jobs/{job_id}/events") as response:
        for event in server_events(response.iter_lines()):
            if event.name == "token" and first_token is None and event.json().get("text"):
                first_token = time.perf_counter() - started
            elif event.name == "job":
                status = event.json()["status"]
                if status == "failed":
                    raise RuntimeError(f"generation job {job_id} failed")
                if status == "done":
                    return Timing(first_token, time.perf_counter() - started)
    raise RuntimeError(f"the events of job {job_id} ended before it was done")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def benchmark_streaming_command(
    tokens: Annotated[int, typer.Option(min=1, help="New tokens per generation.")] = 64,
    rounds: Annotated[int, typer.Option(min=1, help="Rounds, each with streaming on and off.")] = 20,
) -> None:
    """Time to first token and total time of generations, with text streaming on and off."""
    from rich.console import Console
    from rich.table import Table

    concurrencies = (1, 16)
    timings = run_streaming_benchmark(get_settings(), concurrencies, tokens, rounds)
    table = Table(title=f"queuebot benchmark-streaming: {tokens}-token generations, {rounds} rounds")
    for column in ("concurrent", "streaming", "requests", "TTFT p50 s", "TTFT p95 s", "total p50 s",
                   "total p95 s", "total mean s"):  # fmt: skip
        table.add_column(column)
    for concurrency in concurrencies:
        for streaming in (True, False):
            cases = timings.by_case[(streaming, concurrency)]
            totals = [timing.total_s for timing in cases]
            firsts = [timing.first_token_s for timing in cases if timing.first_token_s is not None]
            table.add_row(
                str(concurrency),
                "on" if streaming else "off",
                str(len(cases)),
                f"{_percentile(firsts, 0.5):.2f}" if firsts else "-",
                f"{_percentile(firsts, 0.95):.2f}" if firsts else "-",
                f"{_percentile(totals, 0.5):.2f}",
                f"{_percentile(totals, 0.95):.2f}",
                f"{statistics.fmean(totals):.2f}",
            )
    overhead = Table(title="streaming's cost: mean total, on / off (target <= 1.05)")
    for column in ("concurrent", "on / off", "by round: mean ± sd", "by round: min-max", "met"):
        overhead.add_column(column)
    for concurrency in concurrencies:
        ratio = timings.overhead(concurrency)
        by_round = timings.overhead_by_round(concurrency)
        spread = statistics.stdev(by_round) if len(by_round) > 1 else 0.0
        overhead.add_row(
            str(concurrency),
            f"{ratio:.3f}",
            f"{statistics.fmean(by_round):.3f} ± {spread:.3f}",
            f"{min(by_round):.3f}-{max(by_round):.3f}",
            "yes" if ratio <= 1.05 else "NO",
        )
    cpu = Table(title="CPU ms per request, by process")
    processes = list(timings.cpu_by_case[(True, concurrencies[0])])
    for column in ("concurrent", "streaming", *processes, "all"):
        cpu.add_column(column)
    for concurrency in concurrencies:
        for streaming in (True, False):
            spent = timings.cpu_ms_per_request(streaming, concurrency)
            cpu.add_row(
                str(concurrency),
                "on" if streaming else "off",
                *(f"{spent[name]:.1f}" for name in processes),
                f"{sum(spent.values()):.1f}",
            )
    console = Console()
    console.print(table)
    console.print(overhead)
    console.print(cpu)
