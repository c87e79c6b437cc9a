"""Replay a recorded stream into a running product through its REST API, at a chosen speed.

Items are sent in event-time order as ``POST /api/sentiment`` batches: at ``speed`` 60, an hour of
the stream arrives in a minute, one batch per second of wall time holding the items that fell due
(at most ``batch_size``); at speed 0, as fast as the API takes them. Each batch carries an
``Idempotency-Key`` made of the run id and its number, so replaying with the same ``--run-id`` after
an interruption sends nothing twice. A 429 or 503 is sent again after its ``Retry-After``
(``cli/api_client.py``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated

import httpx
import typer

from cli.api_client import ApiClient
from cli.streams import StreamFormat, StreamItem, read_stream
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

TICK_S = 1.0  # wall time one paced batch covers
POLL_INTERVAL_S = 0.2
# The longest one job may stay unfinished after the one sent before it was stored.
JOB_STALL_TIMEOUT_S = 600.0


@dataclass
class ReplayReport:
    items: int
    jobs: list[str] = field(default_factory=list)
    sent_s: float = 0.0  # from the first POST to the last one accepted
    stored_s: float | None = None  # from the first POST until every job was final (with wait)
    failed_jobs: int = 0

    @property
    def items_per_s(self) -> float | None:
        return None if not self.stored_s else self.items / self.stored_s


def batches(
    items: Sequence[StreamItem], speed: float, batch_size: int
) -> Iterator[tuple[float, list[StreamItem]]]:
    """(seconds after the start when the batch is due, its items), in order."""
    if speed == 0:
        for start in range(0, len(items), batch_size):
            yield 0.0, list(items[start : start + batch_size])
        return
    origin = items[0].occurred_at
    batch: list[StreamItem] = []
    tick = 0
    for item in items:
        due_tick = int((item.occurred_at - origin).total_seconds() / speed // TICK_S)
        if batch and (due_tick != tick or len(batch) == batch_size):
            yield tick * TICK_S, batch
            batch = []
        tick = due_tick
        batch.append(item)
    if batch:
        yield tick * TICK_S, batch


def replay(
    client: httpx.Client,
    items: Sequence[StreamItem],
    *,
    speed: float,
    batch_size: int,
    model: str,
    given_labels: bool = False,
    topics: str = "auto",
    run_id: str | None = None,
    wait: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    api = ApiClient(client)
    run_id = run_id or uuid.uuid4().hex[:12]
    report = ReplayReport(items=len(items))
    started = time.monotonic()
    for number, (due_s, batch) in enumerate(batches(items, speed, batch_size)):
        delay = started + due_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        body = {
            "model": model,
            "labels": "given" if given_labels else "model",
            "topics": topics,
            "items": [_item(item, given_labels) for item in batch],
        }
        report.jobs.append(str(api.submit("/api/sentiment", body, f"replay:{run_id}:{number}")["id"]))
        if progress is not None:
            progress(len(batch))
    report.sent_s = time.monotonic() - started
    if wait:
        report.failed_jobs = _wait_for(api, report.jobs)
        report.stored_s = time.monotonic() - started
    return report


def _item(item: StreamItem, given_label: bool) -> dict[str, str]:
    body = {"text": item.text, "source": item.source, "occurred_at": item.occurred_at.isoformat()}
    if item.topic is not None:
        body["topic"] = item.topic
    if given_label:
        if item.label is None:
            raise ValueError(f"{item.source} item of {item.occurred_at} has no label to give")
        body["label"] = item.label
    return body


def _wait_for(api: ApiClient, job_ids: Sequence[str]) -> int:
    """Wait until every job is final; returns how many failed. Jobs finish about in the order they
    were sent, so each one's wait is bounded from the moment the one before it was final."""
    failed = 0
    for job_id in job_ids:
        job = api.wait_for_job(job_id, poll_s=POLL_INTERVAL_S, timeout_s=JOB_STALL_TIMEOUT_S)
        if job["status"] == "failed":
            failed += 1
            log.error("job %s failed: %s", job_id, job["error"])
    return failed


# A news stream's items carry the stream's name as their topic ("cnbc"); what they are about is the
# topic model's to say. Airline tweets' topic is their airline, which the model knows nothing of.
DEFAULT_TOPICS = {StreamFormat.CNBC: "predict"}


def replay_command(
    path: Annotated[Path, typer.Argument(help="The recorded stream.")],
    stream_format: Annotated[
        str, typer.Option("--format", help="airline, cnbc or jsonl (see cli/streams.py).")
    ] = "airline",
    speed: Annotated[
        float, typer.Option(min=0, help="Stream seconds per wall second (60: an hour a minute); 0: at once.")
    ] = 60.0,
    model: Annotated[str, typer.Option(help="sentiment-general or sentiment-finance.")] = "sentiment-general",
    topic: Annotated[str | None, typer.Option(help="Every item's topic (default: from the stream).")] = None,
    topic_prefix: Annotated[
        str, typer.Option(help="Put before every topic, to keep two replays of one stream apart.")
    ] = "",
    labels: Annotated[
        str, typer.Option(help="'model': classify; 'given': store the stream's own (human) labels.")
    ] = "model",
    topics: Annotated[
        str | None,
        typer.Option(
            help="'predict': every item also gets its predicted topic (topic-news); 'auto': only items "
            "without a topic of their own; 'given': none. Default: predict for a news stream (cnbc), "
            "auto otherwise."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=256, help="Most items per job.")] = 256,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N items (by time).")] = None,
    url: Annotated[str, typer.Option(help="Base URL of a running product.")] = "",
    run_id: Annotated[
        str | None, typer.Option(help="Reuse to resume an interrupted replay without sending twice.")
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait until every job is stored, and report items/s.")] = True,
    compare_raw: Annotated[
        bool,
        typer.Option(
            help="Also time the model's raw batched forward pass here, before and after, on 1,000 of the "
            "stream's texts, and print the replay's speed as a share of it (needs the models locally)."
        ),
    ] = False,
) -> None:
    """Replay a recorded stream through the REST API at a chosen speed, with progress."""
    from tqdm import tqdm

    settings = get_settings()
    try:
        items = read_stream(path, StreamFormat(stream_format), topic)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if labels not in ("model", "given"):
        raise typer.BadParameter("labels must be 'model' or 'given'", param_hint="--labels")
    topics = topics or DEFAULT_TOPICS.get(StreamFormat(stream_format), "auto")
    if topics not in ("auto", "predict", "given"):
        raise typer.BadParameter("topics must be 'auto', 'predict' or 'given'", param_hint="--topics")
    items = items[:limit] if limit else items
    if topic_prefix:
        items = [
            replace(item, topic=f"{topic_prefix}{item.topic}"[:100]) if item.topic is not None else item
            for item in items
        ]
    if labels == "given" and any(item.label is None for item in items):
        raise typer.BadParameter(f"{path} has items without a label", param_hint="--labels")
    if compare_raw and (labels != "model" or not wait):
        raise typer.BadParameter("needs --labels model and --wait", param_hint="--compare-raw")
    raw_texts = [item.text for item in items[:RAW_COMPARISON_TEXTS]]
    raw_before = _raw_speed(settings, model, raw_texts) if compare_raw else None
    base_url = url or f"http://{settings.web_host}:{settings.web_port}"
    headers = {"Authorization": f"Bearer {settings.api_token.get_secret_value()}"}
    span = items[-1].occurred_at - items[0].occurred_at
    log.info("%s: %d items over %s of stream time, at speed %g", path, len(items), span, speed)
    with (
        httpx.Client(base_url=base_url, headers=headers, timeout=60) as client,
        tqdm(total=len(items), unit="item", desc="replay", disable=None) as bar,
    ):
        report = replay(
            client,
            items,
            speed=speed,
            batch_size=batch_size,
            model=model,
            given_labels=labels == "given",
            topics=topics,
            run_id=run_id,
            wait=wait,
            progress=bar.update,
        )
    log.info("sent %d items in %d jobs in %.1f s", report.items, len(report.jobs), report.sent_s)
    if report.stored_s is not None:
        log.info(
            "all stored after %.1f s: %.1f items/s; %d jobs failed",
            report.stored_s,
            report.items_per_s,
            report.failed_jobs,
        )
    if raw_before is not None and report.items_per_s is not None:
        raw_after = _raw_speed(settings, model, raw_texts)
        raw = (raw_before + raw_after) / 2
        log.info(
            "raw batched forward pass of %s: %.1f texts/s (%.1f before, %.1f after); system / raw = %.2f",
            model,
            raw,
            raw_before,
            raw_after,
            report.items_per_s / raw,
        )
    if report.failed_jobs:
        raise typer.Exit(1)


# The raw speed drifts by 10-20 % between minutes here; timing it before and after the replay and
# comparing with the mean keeps the ratio honest (as `queuebot benchmark` does).
RAW_COMPARISON_TEXTS = 1000


def _raw_speed(settings: Settings, model: str, texts: list[str]) -> float:
    from cli.benchmark import raw_forward_speed
    from workers.model_store import ModelStore

    return raw_forward_speed(ModelStore(settings.models_dir).folder(model), texts, settings.device)
