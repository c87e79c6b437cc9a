"""The Celery application: broker, queues, routes and delivery guarantees.

Bots import this module to send tasks by name, so it must stay free of torch and model code; the
tasks themselves are listed in ``include`` and imported only by worker processes.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    task_postrun,
    task_prerun,
    task_retry,
    worker_init,
    worker_process_init,
)
from kombu import Queue as KombuQueue

from core.jobs import (
    OTHER_TASK_ROUTES,
    REPORTS_ROUTE,
    SPIKE_DETECTION_ROUTE,
    SWEEP_ROUTE,
    TASK_ROUTES,
    Queue,
)
from core.logs import JOB_FIELD_DEFAULTS, install_record_factory, reset_task_id, set_task_id, use_format
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

TASK_MODULES = [
    "workers.tasks.reply",
    "workers.tasks.sentiment",
    "workers.tasks.generation",
    "workers.tasks.images",
    "workers.tasks.slack",
    "workers.tasks.knowledge",
    "workers.tasks.monitoring",
    "workers.tasks.sweeper",
    "workers.tasks.baseline",  # the benchmark's naive comparison; nothing in the product sends it
]


# How long a periodic tick waits in its queue before it is dropped: never less than this. Expiring a
# tick after one interval would drop every tick for as long as the queue's wait exceeds the interval
# (a busy or slow io worker), so the task would never run; this bound still keeps a long outage from
# piling up more than a few minutes of ticks. Every periodic task is idempotent and cheap when idle.
PERIODIC_TICK_MIN_LIFETIME_S = 300.0


def periodic_tick_expiry(interval_s: float) -> float:
    return max(interval_s, PERIODIC_TICK_MIN_LIFETIME_S)


def celery_config(settings: Settings) -> dict[str, Any]:
    return {
        "broker_url": settings.redis_url,
        "broker_connection_retry_on_startup": True,
        # Redis re-delivers an unacknowledged message after this long; it must outlast the longest
        # job (the settings object checks it against the hard time limit).
        "broker_transport_options": {"visibility_timeout": settings.broker_visibility_timeout_s},
        # Results live in the jobs table; a Celery result backend would be a second source of truth.
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "task_queues": [KombuQueue(queue.value, routing_key=queue.value) for queue in Queue],
        "task_default_queue": Queue.BATCH.value,
        "task_routes": {
            route.task_name: {"queue": route.queue.value}
            for route in (*TASK_ROUTES.values(), *OTHER_TASK_ROUTES)
        },
        # Acknowledge after the task ran, and give the message back when the worker dies mid-task:
        # together with idempotent tasks this means a crash loses nothing and doubles nothing.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.task_soft_time_limit_s,
        "task_time_limit": settings.task_hard_time_limit_s,
        "worker_pool": settings.worker_pool,
        "worker_concurrency": settings.worker_concurrency,
        # Task events (sent, received, started, succeeded) are a Redis publish each, four per job,
        # read by nobody but a monitor: off unless asked for. Flower switches the workers' events on
        # itself while it runs (its enable_events), so it still follows tasks without this.
        "task_send_sent_event": settings.celery_task_events,
        "worker_send_task_events": settings.celery_task_events,
        # `celery beat` (one per deployment) sends these. Each run catches up on whatever the ticks
        # before it missed, so a tick that waited long in a busy queue is dropped rather than run late
        # (see periodic_tick_expiry for how long).
        "beat_schedule": {
            "monitoring-reports": {
                "task": REPORTS_ROUTE.task_name,
                "schedule": settings.report_check_s,
                "options": {
                    "queue": REPORTS_ROUTE.queue.value,
                    "expires": periodic_tick_expiry(settings.report_check_s),
                },
            },
            # Buckets held back for batches that then failed, or whose last run raced another, are
            # otherwise tested only when the next batch is stored.
            "monitoring-held-back-spikes": {
                "task": SPIKE_DETECTION_ROUTE.task_name,
                "schedule": settings.report_check_s,
                "args": [{}],
                "options": {
                    "queue": SPIKE_DETECTION_ROUTE.queue.value,
                    "expires": periodic_tick_expiry(settings.report_check_s),
                },
            },
            # Jobs and Slack posts whose message was lost or whose worker died (workers/recovery/).
            "job-sweeper": {
                "task": SWEEP_ROUTE.task_name,
                "schedule": settings.sweep_interval_s,
                "options": {
                    "queue": SWEEP_ROUTE.queue.value,
                    "expires": periodic_tick_expiry(settings.sweep_interval_s),
                },
            },
        },
    }


def create_celery_app(settings: Settings | None = None) -> Celery:
    app = Celery("queuebot", include=TASK_MODULES)
    app.conf.update(celery_config(settings or get_settings()))
    return app


celery_app = create_celery_app()


def _runs_tasks_in_this_process(worker: Any) -> bool:
    # solo and threads pools run tasks in the main process; prefork runs them in forked children,
    # whose parent must never load models (CUDA does not survive fork).
    pool_cls = worker.pool_cls if isinstance(worker.pool_cls, str) else worker.pool_cls.__module__
    return "solo" in pool_cls or "thread" in pool_cls


def _prepare_process_for_jobs(process_index: int | None = None) -> None:
    from core.long_lived import freeze_start_up_objects
    from db.engine import dispose_engines
    from workers.metrics import serve_worker_metrics
    from workers.recovery.liveness import ensure_heartbeat
    from workers.registry import get_registry

    # Connections inherited through fork are shared with the parent; start with none.
    dispose_engines()
    # Marked alive before the first claim; the claim starts it too, for processes this misses.
    ensure_heartbeat()
    serve_worker_metrics(get_settings(), process_index)
    if get_settings().warm_up_models:
        get_registry().warm_up()
    freeze_start_up_objects()


@worker_init.connect
def _warm_up_in_main_process(sender: Any = None, **_: Any) -> None:
    if sender is not None and _runs_tasks_in_this_process(sender):
        _prepare_process_for_jobs()


@worker_process_init.connect
def _warm_up_in_child_process(**_: Any) -> None:
    from celery.utils.log import current_process_index

    # 1, 2, ... for prefork children, so each serves its metrics on a port of its own.
    _prepare_process_for_jobs(current_process_index())


@after_setup_logger.connect
def _format_worker_logs(logger: logging.Logger, format: str, colorize: bool, **_: Any) -> None:
    # Celery (worker and beat) has just given the root logger its handlers; put the job id in their
    # lines, or make them JSON. The text keeps Celery's own layout and colours.
    from celery.utils.log import ColorFormatter

    class JobTagFormatter(ColorFormatter):
        def format(self, record: logging.LogRecord) -> str:
            for name, default in JOB_FIELD_DEFAULTS.items():
                if not hasattr(record, name):
                    setattr(record, name, default)
            return super().format(record)

    install_record_factory()
    if get_settings().log_format == "json":
        use_format(logger.handlers, "json")
        return
    text = format.replace(" %(message)s", "%(job_tag)s %(message)s")
    for handler in logger.handlers:
        handler.setFormatter(JobTagFormatter(text, use_color=colorize))


# Celery's own INFO lines for every task: "received" when the consumer takes its message, "succeeded"
# when it returns (and "retry", logged again below as a warning). Failures are logged at ERROR.
CELERY_PER_TASK_LOGGERS = ("celery.worker.strategy", "celery.app.trace")


@after_setup_logger.connect
def _quiet_per_task_lines(**_: Any) -> None:
    # Before the worker builds its tracers and strategies, which read the level once.
    if not get_settings().celery_task_logs:
        for name in CELERY_PER_TASK_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


@task_retry.connect
def _log_retry(request: Any = None, reason: object = None, **_: Any) -> None:
    # Celery logs a retry at INFO, through the logger of its per-task lines, which is quiet by default;
    # a task waiting out a database or Redis outage is worth a warning whatever the setting.
    task = getattr(request, "task", None)
    log.warning("task %s[%s] retried: %s", task, getattr(request, "id", None), reason)


@after_setup_task_logger.connect
def _format_task_logs(logger: logging.Logger, **_: Any) -> None:
    # Celery's task logger does not propagate to the root; in JSON mode its lines must be JSON too.
    if get_settings().log_format == "json":
        use_format(logger.handlers, "json")


# (task id, thread) -> the context token to restore when the task ends. The thread is part of the key:
# a redelivered message can run while its first delivery still does, under the same task id.
_task_tokens: dict[tuple[str, int], object] = {}


@task_prerun.connect
def _name_task_in_logs(task_id: str | None = None, **_: Any) -> None:
    # Every task's lines name it (deliveries and spike detection too, which are not jobs). prerun and
    # postrun run in the thread that runs the task, so each task thread sets only its own context.
    if task_id is not None:
        _task_tokens[task_id, threading.get_ident()] = set_task_id(task_id)


@task_postrun.connect
def _forget_task_in_logs(task_id: str | None = None, **_: Any) -> None:
    token = _task_tokens.pop((task_id, threading.get_ident()), None) if task_id is not None else None
    if token is not None:
        reset_task_id(token)
