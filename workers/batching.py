"""Dynamic micro-batching: requests from concurrent jobs that arrive close together share one call.

Each worker thread running a job calls :meth:`MicroBatcher.submit` with its items and blocks; one
batching thread per model takes the first waiting request, keeps collecting for at most ``max_wait``
or until ``max_items`` are gathered, runs the model once over everything, and hands each caller its
own slice of the results. The same idea as Ray Serve's ``@serve.batch`` and Triton's dynamic
batcher: a bounded wait buys one large forward pass instead of many small ones.

A request is never split: one larger than ``max_items`` runs alone (the model batches internally).
An exception from the model fails every request of that batch, each with the same error.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from workers.metrics import MODEL_INFERENCE

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")


class BatchTimeoutError(TimeoutError):
    pass


@dataclass
class _Request(Generic[In, Out]):
    items: Sequence[In]
    future: Future[list[Out]] = field(default_factory=Future)


@dataclass
class BatchStats:
    """Counters for benchmarks and logs: how much merging actually happened."""

    batches: int = 0
    requests: int = 0
    items: int = 0
    largest: int = 0

    def record(self, requests: int, items: int) -> None:
        self.batches += 1
        self.requests += requests
        self.items += items
        self.largest = max(self.largest, items)


class Pending(Generic[Out]):
    """The results of a request queued with :meth:`MicroBatcher.start`."""

    def __init__(self, batcher: MicroBatcher[Any, Out], future: Future[list[Out]]) -> None:
        self._batcher = batcher
        self._future = future

    def result(self) -> list[Out]:
        """Wait for the results while the model makes progress.

        Waiting behind a backlog is not a failure: as long as the batcher finished (or started) a
        batch within ``timeout_s``, the wait goes on. Only a model that made no progress for
        ``timeout_s`` (stuck, or one batch running that long) fails the request.
        """
        timeout_s = self._batcher.timeout_s
        wait_s = timeout_s
        while True:
            try:
                return self._future.result(timeout=wait_s)
            except FutureTimeout:
                idle_s = time.monotonic() - self._batcher.last_progress
                if idle_s < timeout_s:
                    wait_s = timeout_s - idle_s
                    continue
                self._future.cancel()
                raise BatchTimeoutError(
                    f"{self._batcher.name}: no batch finished for {timeout_s:.0f} s (the model is stuck)"
                ) from None


class MicroBatcher(Generic[In, Out]):
    def __init__(
        self,
        run_batch: Callable[[list[In]], Sequence[Out]],
        *,
        name: str,
        max_items: int,
        max_wait_s: float,
        timeout_s: float,
    ) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be at least 1, got {max_items}")
        self.name = name
        self.max_items = max_items
        self.max_wait_s = max_wait_s
        self.timeout_s = timeout_s
        self.stats = BatchStats()
        self._run_batch = run_batch
        self._queue: queue.Queue[_Request[In, Out] | None] = queue.Queue()
        self._closed = False
        # When the model last started or finished a batch: what tells a long queue from a stuck model.
        self.last_progress = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name=f"batcher-{name}", daemon=True)
        self._thread.start()

    def submit(self, items: Sequence[In]) -> list[Out]:
        """Run ``items`` in the next batch and return their results, in order."""
        return self.start(items).result()

    def start(self, items: Sequence[In]) -> Pending[Out]:
        """Queue ``items`` for the next batch and return at once; ``result()`` waits for them. A job
        that needs two models starts both, so their batching waits and forward passes overlap."""
        if self._closed:
            raise RuntimeError(f"batcher {self.name} is closed")
        request: _Request[In, Out] = _Request(list(items))
        if not items:
            request.future.set_result([])
        else:
            self._queue.put(request)
        return Pending(self, request.future)

    def close(self) -> None:
        """Finish the requests already queued, then stop the batching thread."""
        self._closed = True
        self._queue.put(None)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _loop(self) -> None:
        carried: _Request[In, Out] | None = None
        while True:
            first = carried or self._queue.get()
            carried = None
            if first is None:
                return
            batch = [first]
            size = len(first.items)
            deadline = time.monotonic() + self.max_wait_s
            stop = False
            while size < self.max_items:
                remaining = deadline - time.monotonic()
                try:
                    nxt = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                if size + len(nxt.items) > self.max_items:
                    carried = nxt  # starts the next batch, so no request waits twice
                    break
                batch.append(nxt)
                size += len(nxt.items)
            self._run(batch)
            if stop:
                if carried is not None:
                    self._run([carried])
                return

    def _run(self, batch: list[_Request[In, Out]]) -> None:
        live = [request for request in batch if request.future.set_running_or_notify_cancel()]
        if not live:
            return
        items = [item for request in live for item in request.items]
        self.last_progress = time.monotonic()
        try:
            # Timed here, where every job's inference happens, and labelled by the batcher's name (the
            # model's). A call that raises is timed too: the model was busy for that long either way.
            with MODEL_INFERENCE.labels(model=self.name).time():
                results = list(self._run_batch(items))
            if len(results) != len(items):
                raise RuntimeError(
                    f"{self.name}: model returned {len(results)} results for {len(items)} items"
                )
        except BaseException as exc:  # noqa: BLE001 - every waiting caller must hear about it
            self.last_progress = time.monotonic()
            for request in live:
                request.future.set_exception(exc)
            return
        self.last_progress = time.monotonic()
        self.stats.record(len(live), len(items))
        start = 0
        for request in live:
            request.future.set_result(results[start : start + len(request.items)])
            start += len(request.items)
