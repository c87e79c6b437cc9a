"""``queuebot benchmark``: throughput of the serving design against its two bounds, in one run.

1. raw: the sentiment model's batched forward pass in this process, no queue, no database;
2. system: the same texts through the REST API -> Redis -> the threaded worker (micro-batching) -> SQLite,
   as multi-text jobs and as one-text jobs sent concurrently;
3. naive: one Celery task per text, each a Hugging Face ``pipeline`` call (``workers.tasks.baseline``);
4. chat replies/s with the worker saturated: conversations sending message after message, each
   waiting for its reply through the job's server-sent events;
5. generation: tokens/s of 16 concurrent requests decoded as one batch vs. one ``generate`` after another;
6. the worker's resident memory with every served model loaded.

Every ratio of the serving targets (:func:`targets`, docs/serving.md) is printed from the same run.

The stack runs privately (temporary database, free ports) against the models folder in the settings,
so a running ``queuebot up`` is not disturbed. Numbers depend on the machine: compare figures from the
same run.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import redis
import typer

from cli.api_client import ApiClient
from cli.embedded import Child, EmbeddedStack, private_settings
from cli.process_cpu import CpuMeter
from cli.streams import first_texts
from core import redis_keys
from core.jobs import SENTIMENT_GENERAL_MODEL, JobKind
from core.long_lived import freeze_start_up_objects
from core.settings import Settings, get_settings
from db.base import utcnow
from workers.ml.backends import ONNX_INT8, TORCH
from workers.model_store import ModelStore

log = logging.getLogger(__name__)

TEXTS_FILE = "streams/airline_tweets.csv"
POLL_S = 0.1
TIMEOUT_S = 900.0

# The figures' names, which the targets read.
RAW = "raw batched forward"
# The raw forward pass under torch fp32, interleaved with ``RAW``: the int8 / fp32 ratio when int8 serves.
RAW_TORCH_FP32 = "raw batched forward, torch fp32"
SYSTEM = "system"
ONE_TEXT_JOBS = "system-1-text-jobs"
NAIVE = "naive worker"
CHAT_REPLIES = "chat replies, saturated"
GENERATION_BATCHED = "generation, batched"
GENERATION_SEQUENTIAL = "generation, sequential"
WORKER_RSS = "worker RSS, all served models loaded"
ONE_TEXT_CPU = "one-text job CPU"
ONE_TEXT_TIMELINE = "one-text job, created to stored (p50)"


@dataclass(frozen=True)
class BenchmarkOptions:
    texts: int = 1000  # texts for the raw and system runs
    job_size: int = 50  # texts per job in the multi-text system run
    single_text_jobs: int = 300  # one-text jobs in the second system run
    naive_texts: int = 300
    clients: int = 16  # concurrent API clients
    chat_conversations: int = 16  # customers chatting at once, each without pauses (0: skip)
    chat_turns: int = 10  # messages each of them sends
    generation_concurrency: int = 16
    generation_tokens: int = 64
    backend: str | None = None  # QUEUEBOT_INFERENCE_BACKEND for the raw and system runs; None: the settings'


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    note: str = ""


def _with_backend(settings: Settings, options: BenchmarkOptions) -> Settings:
    return settings.model_copy(update={"inference_backend": options.backend or settings.inference_backend})


def run_benchmark(settings: Settings, options: BenchmarkOptions) -> list[Figure]:
    settings = _with_backend(settings, options)
    store = ModelStore(settings.models_dir)
    classifier_folder = store.folder(SENTIMENT_GENERAL_MODEL)
    backend = served_backend(classifier_folder, settings)
    needed = max(options.texts, options.single_text_jobs, options.naive_texts)
    texts = first_texts(settings.data_dir / TEXTS_FILE, needed)
    # The raw speed of this machine drifts by 10-20 % between minutes; measuring it before and after
    # the system runs, and comparing with the mean, keeps the ratio honest.
    fp32_threads = fp32_reference_threads(backend, settings.int8_threads)
    raw_before = raw_forward_speed(classifier_folder, texts[: options.texts], settings.device, backend)
    fp32_before = raw_forward_speed(
        classifier_folder, texts[: options.texts], settings.device, "torch", torch_threads=fp32_threads
    )
    figures: list[Figure] = []

    with tempfile.TemporaryDirectory(prefix="queuebot-benchmark-") as scratch:
        private = private_settings(settings, Path(scratch))
        stack = EmbeddedStack(private)
        try:
            stack.start_storage()
            if options.chat_conversations:
                stack.import_demo_knowledge()  # the replies' template path needs approved answers
            worker = stack.start_worker(
                "worker", pool=settings.worker_pool, concurrency=settings.worker_concurrency
            )
            web = stack.start_web()
            token = private.api_token.get_secret_value()
            with httpx.Client(
                base_url=stack.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
            ) as client:
                _run_jobs(client, [["warm up"]] * 2, 2, private.sqlalchemy_url)  # waits for its warm-up
                figures.append(_worker_memory(worker.process.pid))
                # The naive worker is timed before and after the system runs, as the raw pass is, so
                # that the one-text / naive ratio spans the same minutes of the machine's drift. It
                # waits idle in between (its CPU is counted with the one-text jobs').
                baseline = start_naive_worker(private)
                try:
                    naive_texts = texts[: options.naive_texts]
                    naive_before = naive_speed(private, naive_texts, str(classifier_folder))
                    processes = {
                        "web": web.process.pid,
                        "worker": worker.process.pid,
                        "this client": os.getpid(),
                        "naive worker, idle": baseline.process.pid,
                    }
                    if stack.redis is not None and stack.redis.process is not None:
                        processes["redis"] = stack.redis.process.pid
                    figures += _system_runs(client, private, texts, options, processes)
                    naive_after = naive_speed(private, naive_texts, str(classifier_folder))
                finally:
                    baseline.stop()
                figures.append(
                    Figure(
                        NAIVE,
                        (naive_before + naive_after) / 2,
                        "texts/s",
                        f"{len(naive_texts)} tasks, one pipeline call each; "
                        f"before {naive_before:.1f}, after {naive_after:.1f}",
                    )
                )
        finally:
            stack.stop()
    fp32_after = raw_forward_speed(
        classifier_folder, texts[: options.texts], settings.device, "torch", torch_threads=fp32_threads
    )
    raw_after = raw_forward_speed(classifier_folder, texts[: options.texts], settings.device, backend)
    figures.insert(
        0,
        Figure(
            RAW,
            (raw_before + raw_after) / 2,
            "texts/s",
            f"{backend}, {options.texts} texts, batches of 64; "
            f"before {raw_before:.1f}, after {raw_after:.1f}",
        ),
    )
    figures.insert(
        1,
        Figure(
            RAW_TORCH_FP32,
            (fp32_before + fp32_after) / 2,
            "texts/s",
            f"the same texts, interleaved with the above, on {_threads_note(fp32_threads)}; "
            f"before {fp32_before:.1f}, after {fp32_after:.1f}",
        ),
    )
    figures.extend(_generation(store, settings.device, options))
    return figures


def _system_runs(
    client: httpx.Client,
    settings: Settings,
    texts: list[str],
    options: BenchmarkOptions,
    processes: dict[str, int],
) -> list[Figure]:
    """The texts through the whole system: as multi-text jobs, as one-text jobs (with their CPU, process
    by process, and their timeline), and as saturated chat."""
    database = settings.sqlalchemy_url
    figures = [_system(client, texts[: options.texts], options.job_size, options.clients, SYSTEM, database)]
    cpu = CpuMeter(processes)
    figures.append(
        _system(client, texts[: options.single_text_jobs], 1, options.clients, ONE_TEXT_JOBS, database)
    )
    figures.append(_cpu_per_job(cpu, options.single_text_jobs))
    figures.append(_one_text_timeline(settings, options.single_text_jobs))
    if options.chat_conversations:
        figures.append(_chat_replies(client, settings.data_dir, options))
    return figures


def served_backend(folder: Path, settings: Settings) -> str:
    """The backend a worker with ``settings`` serves the classifier in ``folder`` with."""
    from workers.ml.backends import INT8_INFO_KEY, choose_backend
    from workers.ml.device import resolve_device
    from workers.ml.info import read_info

    info = read_info(folder)
    device = resolve_device(settings.device)
    return choose_backend(settings.inference_backend, device, folder, info.name, info.data.get(INT8_INFO_KEY))


def raw_forward_speed(
    folder: Path,
    texts: list[str],
    device: str,
    backend: str = "torch",
    threads: int | None = None,
    torch_threads: int | None = None,
) -> float:
    """Texts per second of the classifier alone on ``backend`` (resolved: torch or onnx-int8), in this
    process: no queue, no database. ``threads``: the int8 runtime's (default: QUEUEBOT_INT8_THREADS,
    as the worker); ``torch_threads``: torch's for this pass (default: torch's own, one per core),
    restored afterwards."""
    import torch

    from workers.ml.classifier import TextClassifier
    from workers.ml.device import resolve_device

    threads = get_settings().int8_threads if threads is None else threads
    classifier = TextClassifier.load(folder, resolve_device(device), backend, threads)
    previous = torch.get_num_threads()
    if torch_threads is not None:
        torch.set_num_threads(torch_threads)
    try:
        classifier.classify(texts[:64])  # warm-up
        started = time.perf_counter()
        classifier.classify(texts)
        return len(texts) / (time.perf_counter() - started)
    finally:
        torch.set_num_threads(previous)


def _threads_note(torch_threads: int | None) -> str:
    return (
        "torch's default threads" if torch_threads is None else f"{torch_threads} thread(s), as the int8 pass"
    )


def fp32_reference_threads(backend: str, int8_threads: int) -> int | None:
    """Torch's threads for the fp32 pass that an int8 pass is compared with: as many as the int8 pass
    has, so that the ratio compares backends, not thread counts (the worker runs int8 passes on one
    thread each, many at once: docs/inference-backends.md). None: torch's own default."""
    return int8_threads if backend == ONNX_INT8 and int8_threads > 0 else None


def _run_jobs(client: httpx.Client, jobs: list[list[str]], clients: int, database_url: str) -> float:
    """Submit every job from ``clients`` threads and wait until all are stored; returns the seconds from
    the first submission to the last job's ``finished_at`` (stamped in the transaction that stores its
    result), so the poll interval below is not part of the figure.

    One poller counts finished jobs: polling each job from every client would load the web process
    (and so the 2 cores the worker needs) with the benchmark's own requests.
    """

    def finished(status: str) -> int:
        return api.count_jobs("sentiment", status)

    def submit(batch: list[str]) -> str:
        items = [{"text": text, "topic": "benchmark"} for text in batch]
        return str(api.submit("/api/sentiment", {"items": items})["id"])

    api = ApiClient(client)
    done_before, failed_before = finished("done"), finished("failed")
    started = utcnow()
    with ThreadPoolExecutor(clients) as pool:
        job_ids = list(pool.map(submit, jobs))
    deadline = time.monotonic() + TIMEOUT_S
    while finished("done") - done_before < len(jobs):
        if finished("failed") > failed_before:
            raise RuntimeError("a benchmark job failed; see the worker log")
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark jobs not done after {TIMEOUT_S:.0f} s")
        time.sleep(POLL_S)
    return (_last_finished_at(database_url, job_ids) - started).total_seconds()


def _last_finished_at(database_url: str, job_ids: list[str]) -> datetime:
    from sqlalchemy import func, select

    from db.engine import engine_for
    from db.models import Job

    query = select(func.max(Job.finished_at)).where(Job.id.in_(job_ids))
    with engine_for(database_url).connect() as connection:
        last: datetime = connection.execute(query).scalar_one()
    return last


def _system(
    client: httpx.Client, texts: list[str], job_size: int, clients: int, name: str, database_url: str
) -> Figure:
    jobs = [texts[i : i + job_size] for i in range(0, len(texts), job_size)]
    seconds = _run_jobs(client, jobs, clients, database_url)
    return Figure(
        name,
        len(texts) / seconds,
        "texts/s",
        f"{len(jobs)} jobs of {job_size} text(s) from {clients} clients, API to stored rows",
    )


def _cpu_per_job(cpu: CpuMeter, jobs: int) -> Figure:
    """The CPU each one-text job cost, process by process: what the per-job levers cut. Read it
    beside the throughput: on a shared machine CPU time moves far less than wall time does."""
    spent = {name: seconds * 1000 / jobs for name, seconds in cpu.spent().items()}
    return Figure(
        ONE_TEXT_CPU,
        sum(spent.values()),
        "CPU ms/job",
        ", ".join(f"{name} {ms:.1f}" for name, ms in spent.items()),
    )


def _one_text_timeline(settings: Settings, jobs: int) -> Figure:
    """Where a one-text job's time went, from its row's clocks: waiting for a worker thread (created
    to started) and in the worker (started to finished: the batcher's wait, the forward pass, the
    storing)."""
    from sqlalchemy import select

    from db.engine import engine_for
    from db.models import Job

    query = (
        select(Job.created_at, Job.started_at, Job.finished_at)
        .where(Job.kind == JobKind.SENTIMENT, Job.finished_at.is_not(None))
        .order_by(Job.created_at.desc())
        .limit(jobs)
    )
    with engine_for(settings.sqlalchemy_url).connect() as connection:
        rows = connection.execute(query).all()
    waited = sorted((started - created).total_seconds() * 1000 for created, started, _ in rows)
    ran = sorted((finished - started).total_seconds() * 1000 for _, started, finished in rows)

    def at(ordered: list[float], share: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))]

    return Figure(
        ONE_TEXT_TIMELINE,
        at(waited, 0.5) + at(ran, 0.5),
        "ms",
        f"p50 waiting {at(waited, 0.5):.0f} ms + running {at(ran, 0.5):.0f} ms "
        f"(p90 {at(waited, 0.9):.0f} + {at(ran, 0.9):.0f}); from the job rows",
    )


def _chat_replies(client: httpx.Client, data_dir: Path, options: BenchmarkOptions) -> Figure:
    """Replies per second with the worker saturated: every customer sends their next message as soon
    as the last is answered, and waits for each answer through the job's server-sent events."""
    from cli.measure import support_questions

    conversations, turns = options.chat_conversations, options.chat_turns
    questions = support_questions(data_dir, conversations * turns)
    api = ApiClient(client)

    def customer(number: int) -> int:
        conversation: dict[str, Any] = {}
        failed = 0
        for turn in range(turns):
            accepted = api.submit("/api/chat", {**conversation, "message": questions[number * turns + turn]})
            conversation = {"conversation_id": accepted["conversation_id"]}
            job = api.follow_job(accepted["job"]["id"], timeout_s=TIMEOUT_S)
            failed += job["status"] != "done"
        return failed

    warm_up = api.submit("/api/chat", {"message": "warm up"})
    api.follow_job(warm_up["job"]["id"], timeout_s=TIMEOUT_S)
    started = time.perf_counter()
    with ThreadPoolExecutor(conversations) as pool:
        failed = sum(pool.map(customer, range(conversations)))
    seconds = time.perf_counter() - started
    if failed:
        raise RuntimeError(f"{failed} benchmark chat replies failed; see the worker log")
    return Figure(
        CHAT_REPLIES,
        conversations * turns / seconds,
        "replies/s",
        f"{conversations} conversations x {turns} messages, no pauses, each waited for by its events",
    )


def start_naive_worker(settings: Settings) -> Child:
    """The naive worker, on the stack of ``settings``: one task at a time, without the served models
    (its task loads its own pipeline), on torch's default threads: the baseline is a worker nobody
    tuned, and stays the same when the served workers' settings change."""
    stack = EmbeddedStack(settings.model_copy(update={"warm_up_models": False, "torch_threads": 0}))
    return stack.start_worker("baseline", queues=["baseline"], pool="solo")


def naive_speed(settings: Settings, texts: list[str], model_folder: str) -> float:
    """Texts per second of the naive worker (running on the stack of ``settings``), one task per text."""
    from workers.celery_app import create_celery_app
    from workers.tasks.baseline import BASELINE_QUEUE, BASELINE_TASK, finished_at_key

    app = create_celery_app(settings)
    counter = f"{redis_keys.BENCHMARK_COUNTER}{uuid.uuid4()}"
    client = redis.Redis.from_url(settings.redis_url)
    app.send_task(BASELINE_TASK, args=["warm up", model_folder, counter], queue=BASELINE_QUEUE)
    _wait_for_count(client, counter, 1)
    client.delete(counter)
    started = time.time()
    for text in texts:
        app.send_task(BASELINE_TASK, args=[text, model_folder, counter], queue=BASELINE_QUEUE)
    _wait_for_count(client, counter, len(texts))
    # Up to the last text's finish, as the system runs count up to their last stored row.
    last_finished_at = client.get(finished_at_key(counter))
    if last_finished_at is None:
        raise RuntimeError(f"the naive worker counted its texts without {finished_at_key(counter)}")
    seconds = float(last_finished_at) - started
    client.delete(counter, finished_at_key(counter))
    return len(texts) / seconds


def _wait_for_count(client: redis.Redis, key: str, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while int(client.get(key) or 0) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"naive worker finished fewer than {count} texts in {TIMEOUT_S:.0f} s")
        time.sleep(POLL_S)


def _worker_memory(pid: int) -> Figure:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            megabytes = int(line.split()[1]) / 1024
            return Figure(WORKER_RSS, megabytes, "MB")
    raise RuntimeError(f"no VmRSS for process {pid}")


def _generation(store: ModelStore, device: str, options: BenchmarkOptions) -> list[Figure]:
    from workers.ml.device import resolve_device
    from workers.ml.generation_benchmark import NEWS_PROMPTS, measure_generation
    from workers.ml.generator import TextGenerator

    generator = TextGenerator.load(store.folder("generator"), resolve_device(device))
    # Decoded in the state a worker decodes in: its start-up objects frozen once its models are loaded
    # (core/long_lived.py). Otherwise a full collection of this process's heap, about 0.3 s, lands in
    # some rounds of a side and not in others.
    freeze_start_up_objects()
    measured = measure_generation(
        generator,
        NEWS_PROMPTS,
        concurrency=options.generation_concurrency,
        max_new_tokens=options.generation_tokens,
    )
    return [
        Figure(
            GENERATION_BATCHED,
            measured["batched_tokens_per_s"],
            "tokens/s",
            f"{options.generation_concurrency} requests as one batch",
        ),
        Figure(
            GENERATION_SEQUENTIAL,
            measured["sequential_tokens_per_s"],
            "tokens/s",
            "the same requests, one generate() after another",
        ),
    ]


@dataclass(frozen=True)
class Check:
    """One serving target against this run: ``measured`` is None when the run lacks a figure it needs,
    and ``note`` then says which (and how to get it)."""

    name: str
    measured: float | None
    target: str
    met: bool | None
    note: str = ""


def targets(
    figures: list[Figure], *, served: str = TORCH, replies_baseline: float | None = None
) -> list[Check]:
    """The serving targets of issue 23 (docs/serving.md), each checked against this run's figures.

    ``served``: the backend that served the classifiers (``RAW`` and the system runs);
    ``replies_baseline``: saturated chat replies/s that a baseline run measured on the same machine
    (``queuebot benchmark`` of the commit to compare with); the replies target is a ratio to it.
    """
    value = {figure.name: figure.value for figure in figures}

    def ratio(name: str, over: str, under: str, at_least: float) -> Check:
        if over not in value or under not in value:
            missing = " and ".join(repr(n) for n in (over, under) if n not in value)
            return Check(name, None, f">= {at_least:g}", None, f"not measured: no {missing} in this run")
        measured = value[over] / value[under]
        return Check(name, measured, f">= {at_least:g}", measured >= at_least)

    checks = [
        ratio("one-text jobs / naive worker", ONE_TEXT_JOBS, NAIVE, 2),
        ratio(f"system (50-text jobs) / raw, {served}", SYSTEM, RAW, 0.9),
    ]
    if served == ONNX_INT8:
        checks.append(ratio("raw int8 / raw torch fp32", RAW, RAW_TORCH_FP32, 1.5))
    else:
        checks.append(
            Check("raw int8 / raw torch fp32", None, ">= 1.5", None, f"not measured: {served} served")
        )
    if CHAT_REPLIES not in value:
        checks.append(Check("saturated chat replies / baseline", None, ">= 2", None, "not measured"))
    elif replies_baseline is None:
        checks.append(
            Check(
                "saturated chat replies / baseline",
                None,
                ">= 2",
                None,
                f"{value[CHAT_REPLIES]:.1f} replies/s; --replies-baseline gives the baseline's figure",
            )
        )
    else:
        measured = value[CHAT_REPLIES] / replies_baseline
        checks.append(
            Check(
                "saturated chat replies / baseline",
                measured,
                ">= 2",
                measured >= 2,
                f"{value[CHAT_REPLIES]:.1f} against {replies_baseline:.1f} replies/s",
            )
        )
    checks.append(ratio("batched / sequential generation, 16 requests", GENERATION_BATCHED,
                        GENERATION_SEQUENTIAL, 6))  # fmt: skip
    memory = value.get(WORKER_RSS)
    if memory is None:
        checks.append(Check("worker RSS (MB)", None, "<= 1024", None, "not measured"))
    else:
        checks.append(Check("worker RSS (MB)", memory, "<= 1024", memory <= 1024))
    return checks


def benchmark_command(
    texts: Annotated[int, typer.Option(min=64, help="Texts for the raw and system runs.")] = 1000,
    job_size: Annotated[int, typer.Option(min=1, max=256, help="Texts per job in the system run.")] = 50,
    single_text_jobs: Annotated[int, typer.Option(min=1, help="One-text jobs in the system run.")] = 300,
    naive_texts: Annotated[int, typer.Option(min=1, help="Texts sent to the naive worker.")] = 300,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent API clients.")] = 16,
    chat_conversations: Annotated[
        int, typer.Option(min=0, help="Customers chatting at once, without pauses (0: skip the replies).")
    ] = 16,
    chat_turns: Annotated[int, typer.Option(min=1, help="Messages each of those customers sends.")] = 10,
    replies_baseline: Annotated[
        float | None,
        typer.Option(
            min=0.001, help="Saturated chat replies/s of a baseline run on this machine, for the ratio."
        ),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(
            help="Inference backend for the raw and system runs: auto, torch or onnx-int8 "
            "(default: QUEUEBOT_INFERENCE_BACKEND)."
        ),
    ] = None,
) -> None:
    """Throughput: raw forward vs. the whole system vs. a naive worker; batched vs. sequential generation."""
    from rich.console import Console
    from rich.table import Table

    options = BenchmarkOptions(
        texts=texts,
        job_size=job_size,
        single_text_jobs=single_text_jobs,
        naive_texts=naive_texts,
        clients=clients,
        chat_conversations=chat_conversations,
        chat_turns=chat_turns,
        backend=backend,
    )
    settings = get_settings()
    figures = run_benchmark(settings, options)
    served = served_backend(ModelStore(settings.models_dir).folder(SENTIMENT_GENERAL_MODEL),
                            _with_backend(settings, options))  # fmt: skip
    table = Table(title=f"queuebot benchmark (classifiers served by {served})")
    for column in ("measurement", "value", "unit", "how"):
        table.add_column(column)
    for figure in figures:
        table.add_row(figure.name, f"{figure.value:,.1f}", figure.unit, figure.note)
    checks = Table(title="targets (issue 23)")
    for column in ("ratio", "measured", "target", "met", "note"):
        checks.add_column(column)
    for check in targets(figures, served=served, replies_baseline=replies_baseline):
        measured = "-" if check.measured is None else f"{check.measured:,.2f}"
        met = "-" if check.met is None else ("yes" if check.met else "NO")
        checks.add_row(check.name, measured, check.target, met, check.note)
    console = Console()
    console.print(table)
    console.print(checks)
