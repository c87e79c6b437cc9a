"""The web app's /metrics: what the database and Redis say now, read at each scrape.

How metrics from several processes come together: this endpoint serves the state of the whole
system, read at scrape time from the shared stores (jobs by kind and status, queue depth, alerts by
topic and status), so it is the same whichever web process Prometheus asks. What can only be seen as
it happens (job latency, model inference time, alerts raised) is observed by the worker processes
and served by each on its own port (workers/metrics.py); Prometheus scrapes both kinds of target.

Jobs and alerts are counted from their tables rather than counted up by the processes that change
them: the tables are the source of truth, a restart loses nothing, and the numbers agree with the API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from kombu.transport.redis import PRIORITY_STEPS, Channel
from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from bots.web.probes import probe_redis
from core.jobs import JobKind, JobStatus, Queue
from core.settings import Settings
from db.engine import engine_for
from db.models import Alert, Job

log = logging.getLogger(__name__)


def queue_keys(queue: Queue) -> list[str]:
    """The Redis lists that hold a Celery queue's waiting messages.

    Kombu's Redis transport keeps a message sent with a priority in a list of its own per priority
    step (``name\\x06\\x163`` and so on). queuebot sends none, so everything waits in the plain list;
    counting the others too keeps the depth right if a priority is ever given.
    """
    return [queue.value if step == 0 else f"{queue.value}{Channel.sep}{step}" for step in PRIORITY_STEPS]


class StackCollector:
    """Gauges computed at scrape time from the database and Redis."""

    def __init__(self, settings: Settings) -> None:
        self.database_url = settings.sqlalchemy_url
        self.redis_url = settings.redis_url

    def describe(self) -> Iterator[Metric]:
        # Names only, so registering the collector reads neither store.
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        jobs, queue_depth, alerts, source_up = self._families()
        up = {"database": self._read_database(jobs, alerts), "redis": self._read_redis(queue_depth)}
        for source, ok in up.items():
            source_up.add_metric([source], 1.0 if ok else 0.0)
        if up["database"]:
            yield jobs
            yield alerts
        if up["redis"]:
            yield queue_depth
        yield source_up

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                "queuebot_jobs", "Jobs in the jobs table, by kind and status.", labels=["kind", "status"]
            ),
            GaugeMetricFamily(
                "queuebot_queue_depth",
                "Messages waiting in each Celery queue (not yet taken by a worker).",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                "queuebot_alerts",
                "Spike alerts in the alerts table, by topic and status.",
                labels=["topic", "status"],
            ),
            GaugeMetricFamily(
                "queuebot_metrics_source_up",
                "Whether this scrape could read the source (1) or not (0); its gauges are left out when not.",
                labels=["source"],
            ),
        )

    def _read_database(self, jobs: GaugeMetricFamily, alerts: GaugeMetricFamily) -> bool:
        try:
            with engine_for(self.database_url).connect() as connection:
                job_rows = connection.execute(
                    select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
                ).all()
                alert_rows = connection.execute(
                    select(Alert.topic, Alert.status, func.count()).group_by(Alert.topic, Alert.status)
                ).all()
        except Exception as exc:
            # One line per scrape, not a traceback: Prometheus asks every few seconds while it is down.
            log.warning("metrics: cannot read the database: %s", exc)
            return False
        counts = {(kind, status): count for kind, status, count in job_rows}
        # Every kind and status, zeros included: a series that vanishes at zero breaks rate() and alerts.
        for kind in JobKind:
            for status in JobStatus:
                jobs.add_metric([kind.value, status.value], counts.get((kind, status), 0))
        for topic, status, count in alert_rows:
            alerts.add_metric([topic, status.value], count)
        return True

    def _read_redis(self, queue_depth: GaugeMetricFamily) -> bool:
        try:
            pipeline = probe_redis(self.redis_url).pipeline(transaction=False)
            for queue in Queue:
                for key in queue_keys(queue):
                    pipeline.llen(key)
            lengths = iter(pipeline.execute())
        except Exception as exc:
            # One line per scrape, not a traceback: Prometheus asks every few seconds while it is down.
            log.warning("metrics: cannot read Redis: %s", exc)
            return False
        for queue in Queue:
            queue_depth.add_metric([queue.value], sum(next(lengths) for _ in queue_keys(queue)))
        return True


def web_registry(settings: Settings) -> CollectorRegistry:
    """A registry of the app's own: the stack's gauges and this process's resource use. Not the global
    one, which in a process that also runs a worker (tests, an embedded setup) holds the worker's
    histograms, served on the worker's port."""
    registry = CollectorRegistry()
    registry.register(StackCollector(settings))
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry
