"""Build models in several CPU processes at once, each with its share of the cores.

On a CPU machine one build at a time leaves cores poorly used: a model this small does not keep two
torch threads busy, so two builds of one thread each finish the set sooner than one after another
with two threads (docs/training.md#the-first-run). Each process builds one whole model at a time and
takes the next one whose prerequisites are built (the GPT-2 fine-tunes wait for ``gpt2-base``), so a
long model never holds the others back behind it.

A model is built exactly as ``build_models`` builds it alone, under the same per-model lock of the
model store, so the results, the events and the model folders are those of a one-process build. The
child processes' log records and build events are forwarded to this process as they happen.
"""

from __future__ import annotations

import logging
import logging.handlers
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.ml.info import ModelInfo

log = logging.getLogger(__name__)

_EVENTS_DONE = None  # what tells the event forwarder that no child will send more


@dataclass(frozen=True)
class BuildRequest:
    """What a child needs to build one model as ``build_models`` would; picklable."""

    models_dir: Path
    data_dir: Path
    profile: str
    device: str
    name: str
    force: bool
    seed: int
    if_better: bool


def threads_per_process(processes: int) -> int:
    return max(1, (os.cpu_count() or 1) // processes)


def build_in_processes(
    requests: list[BuildRequest],
    needs: dict[str, tuple[str, ...]],
    processes: int,
    on_event: Callable[[Any], None],
) -> dict[str, ModelInfo]:
    """Build every request, ``processes`` at a time, a model only once its ``needs`` are built.

    Requests come in dependency order; among those ready, a model others need goes first. The first
    failure cancels the models not started, lets the running ones finish, and is raised."""
    context = multiprocessing.get_context("spawn")  # a forked child would inherit torch's thread pool
    events, records = context.Queue(), context.Queue()
    listener = logging.handlers.QueueListener(records, _ForwardToLoggers())
    forwarder = threading.Thread(target=_forward_events, args=(events, on_event), name="build-events")
    listener.start()
    forwarder.start()
    built: dict[str, ModelInfo] = {}
    level = logging.getLogger().getEffectiveLevel()
    child_setup = (events, records, level, threads_per_process(processes))
    try:
        with ProcessPoolExecutor(
            processes, mp_context=context, initializer=_start_child, initargs=child_setup
        ) as pool:
            waiting = list(requests)
            running: dict[Future[ModelInfo], str] = {}
            while waiting or running:
                ready = [r for r in waiting if all(need in built for need in needs[r.name])]
                ready.sort(key=lambda r: -sum(r.name in wanted for wanted in needs.values()))
                for request in ready[: processes - len(running)]:
                    waiting.remove(request)
                    running[pool.submit(_build_one, request)] = request.name
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    name = running.pop(future)
                    error = future.exception()
                    if error is not None:
                        pool.shutdown(wait=True, cancel_futures=True)
                        raise error
                    built[name] = future.result()
    finally:
        events.put(_EVENTS_DONE)
        forwarder.join()
        listener.stop()
    return built


def _start_child(events: Any, records: Any, level: int, threads: int) -> None:
    # Before torch is imported: its intra-op pool reads the variable once.
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)
    from core.logs import install_record_factory

    install_record_factory()  # the parent's formatters expect the job fields on every record
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(records)]
    root.setLevel(level)
    global _child_events
    _child_events = events


_child_events: Any = None


def _build_one(request: BuildRequest) -> ModelInfo:
    from training.build import build_in_order
    from workers.model_store import ModelStore

    # Its prerequisites were built by earlier tasks: here they are read as cached.
    order = [request.name]
    forced = {request.name} if request.force else set()
    store = ModelStore(request.models_dir)
    built = build_in_order(store, request.data_dir, request.profile, request.device, order, forced,
                           request.seed, request.if_better, _child_events.put)  # fmt: skip
    return built[request.name]


def _forward_events(events: Any, on_event: Callable[[Any], None]) -> None:
    while True:
        try:
            event = events.get()
        except (EOFError, OSError):
            return
        if event is _EVENTS_DONE:
            return
        try:
            on_event(event)
        except Exception:  # a progress display must not stop the build
            log.exception("a build event could not be shown")


class _ForwardToLoggers(logging.Handler):
    """Hands a child's record to the logger it was made for here, so that it meets this process's
    handlers and levels as a record made here would."""

    def emit(self, record: logging.LogRecord) -> None:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)
