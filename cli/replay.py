"""Replay a recorded stream into a running product through its REST API, at a chosen speed.

Items are sent in event-time order as ``POST /api/sentiment`` batches: at ``speed`` 60, an hour of
the stream arrives in a minute, one batch per second of wall time holding the items that fell due
(at most ``batch_size``); at speed 0, as fast as the API takes them. Each batch carries an
``Idempotency-Key`` made of the run id and its number, so replaying with the same ``--run-id`` after
an interruption sends nothing twice. A 429 or 503 is retried after its ``Retry-After``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import httpx

from cli.streams import StreamItem

log = logging.getLogger(__name__)

TICK_S = 1.0  # wall time one paced batch covers
RETRY_STATUSES = (429, 503)
MAX_RETRY_WAIT_S = 30.0
POLL_INTERVAL_S = 0.2


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
    run_id: str | None = None,
    wait: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
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
            "items": [_item(item, given_labels) for item in batch],
        }
        report.jobs.append(_post(client, body, f"replay:{run_id}:{number}"))
        if progress is not None:
            progress(len(batch))
    report.sent_s = time.monotonic() - started
    if wait:
        report.failed_jobs = _wait_for(client, report.jobs)
        report.stored_s = time.monotonic() - started
    return report


def _item(item: StreamItem, given_label: bool) -> dict[str, str]:
    body = {
        "text": item.text,
        "topic": item.topic,
        "source": item.source,
        "occurred_at": item.occurred_at.isoformat(),
    }
    if given_label:
        if item.label is None:
            raise ValueError(f"{item.source} item of {item.occurred_at} has no label to give")
        body["label"] = item.label
    return body


def _post(client: httpx.Client, body: dict, key: str) -> str:
    while True:
        response = client.post("/api/sentiment", json=body, headers={"Idempotency-Key": key})
        if response.status_code in RETRY_STATUSES:
            wait_s = min(float(response.headers.get("Retry-After", "1")), MAX_RETRY_WAIT_S)
            log.warning("batch %s: %d, retrying in %.0f s", key, response.status_code, wait_s)
            time.sleep(wait_s)
            continue
        if response.is_error:
            raise RuntimeError(f"batch {key}: {response.status_code} {response.text[:500]}")
        return str(response.json()["id"])


def _wait_for(client: httpx.Client, job_ids: Sequence[str]) -> int:
    """Wait until every job is final; returns how many failed."""
    failed = 0
    for job_id in job_ids:
        while True:
            job = client.get(f"/api/jobs/{job_id}").raise_for_status().json()
            if job["status"] in ("done", "failed"):
                failed += job["status"] == "failed"
                if job["status"] == "failed":
                    log.error("job %s failed: %s", job_id, job["error"])
                break
            time.sleep(POLL_INTERVAL_S)
    return failed
