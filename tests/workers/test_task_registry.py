"""The tasks a worker registers are exactly the tasks the bots can route: a task without a route would
land on the default queue, a route without a task would be sent and never run."""

from __future__ import annotations

import importlib

from core.jobs import OTHER_TASK_ROUTES, TASK_ROUTES, JobKind, Queue
from workers.celery_app import TASK_MODULES, celery_app
from workers.job_runner import finished_hooks, started_hooks
from workers.slack.delivery import enqueue_deliveries_of_finished
from workers.slack.streaming import start_streaming
from workers.tasks.baseline import BASELINE_TASK


def _import_as_a_worker_does() -> None:
    for module in TASK_MODULES:
        importlib.import_module(module)


def test_the_registered_tasks_are_the_routed_ones() -> None:
    _import_as_a_worker_does()
    registered = {name for name in celery_app.tasks if not name.startswith("celery.")}
    routed = {route.task_name for route in (*TASK_ROUTES.values(), *OTHER_TASK_ROUTES)}

    # The benchmark's naive baseline is sent to a queue of its own, by name, and nothing else sends it.
    assert registered == routed | {BASELINE_TASK}
    assert set(TASK_ROUTES) == set(JobKind)
    queues = {route["queue"] for route in celery_app.conf.task_routes.values()}
    assert queues <= {queue.value for queue in Queue}


def test_a_worker_process_streams_running_jobs_and_posts_finished_ones_to_slack() -> None:
    # The job runner imports no feature: Slack delivery hooks itself in when the task modules load.
    _import_as_a_worker_does()
    assert finished_hooks() == (enqueue_deliveries_of_finished,)
    assert started_hooks() == (start_streaming,)
