"""What a worker process measures while it runs jobs, served on its own port for Prometheus.

Why each worker process serves its own /metrics rather than sharing prometheus_client's multiprocess
mode: workers run on several machines (a GPU worker, an io worker), where a shared folder of metric
files does not reach, and the default pool (threads) runs every task in one process anyway. So
Prometheus scrapes each worker like any other target. Histograms cannot be rebuilt from the job
rows at scrape time (rows finish between scrapes), so they are observed here, as jobs finish; the
counts that *can* be read from the database and Redis (jobs by status, queue depth, alerts by
status) are served by the web app's /metrics instead (bots/web/metrics.py).

With the prefork pool each child is its own process with its own registry: child n serves on
``worker_metrics_port + n``, and the parent, which runs no task, serves nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from prometheus_client import Counter, Histogram, start_http_server

from core.jobs import JobKind, JobStatus
from core.settings import Settings

log = logging.getLogger(__name__)

# From a chat reply (tens of milliseconds) to a queued-up sentiment replay or a long generation.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
INFERENCE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

JOB_LATENCY = Histogram(
    "queuebot_job_latency_seconds",
    "From the job's creation (the request) to its final state, as a client waits for it.",
    ["kind", "status"],
    buckets=LATENCY_BUCKETS,
)
JOB_RUN_TIME = Histogram(
    "queuebot_job_run_seconds",
    "From a worker claiming the job to its final state: latency less the time spent queued.",
    ["kind", "status"],
    buckets=LATENCY_BUCKETS,
)
MODEL_INFERENCE = Histogram(
    "queuebot_model_inference_seconds",
    "One call of a model on a micro-batch (the requests of every job that met in it).",
    ["model"],
    buckets=INFERENCE_BUCKETS,
)
# Every kind's series exists from the start, at zero: a rate over a series that appears only with its
# first job reads as "no data" rather than as none finished.
for _kind in JobKind:
    for _status in (JobStatus.DONE, JobStatus.FAILED):
        JOB_LATENCY.labels(kind=_kind.value, status=_status.value)
        JOB_RUN_TIME.labels(kind=_kind.value, status=_status.value)
ALERTS_RAISED = Counter("queuebot_alerts_raised", "Spike alerts stored by this worker's spike detection.")


def observe_job_finished(
    kind: JobKind, status: JobStatus, created_at: datetime, started_at: datetime, finished_at: datetime
) -> None:
    labels = {"kind": kind.value, "status": status.value}
    JOB_LATENCY.labels(**labels).observe(max((finished_at - created_at).total_seconds(), 0.0))
    JOB_RUN_TIME.labels(**labels).observe(max((finished_at - started_at).total_seconds(), 0.0))


def count_alerts_raised(count: int) -> None:
    if count:
        ALERTS_RAISED.inc(count)


def serve_worker_metrics(settings: Settings, process_index: int | None = None) -> int | None:
    """Serve this process's metrics over HTTP; returns the port, or None when off or the port is taken.

    A port already in use is logged, not raised: a worker that runs jobs without metrics is worth
    more than one that refuses to start.
    """
    if not settings.worker_metrics_port:
        return None
    port = settings.worker_metrics_port + (process_index or 0)
    try:
        start_http_server(port, addr=settings.worker_metrics_host)
    except OSError as exc:
        log.error("worker metrics: cannot serve on %s:%d (%s)", settings.worker_metrics_host, port, exc)
        return None
    log.info("worker metrics on http://%s:%d/metrics", settings.worker_metrics_host, port)
    return port
