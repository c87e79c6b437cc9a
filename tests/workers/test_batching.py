import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from workers.batching import BatchTimeoutError, MicroBatcher


class RecordingModel:
    """Doubles each item and remembers the size of every call, like a forward pass would see it."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.calls: list[list[int]] = []
        self.delay_s = delay_s
        self.lock = threading.Lock()

    def __call__(self, items: list[int]) -> list[int]:
        with self.lock:
            self.calls.append(list(items))
        time.sleep(self.delay_s)
        return [2 * item for item in items]


def make_batcher(model, max_items: int = 64, wait_s: float = 0.2, timeout_s: float = 10) -> MicroBatcher:
    return MicroBatcher(model, name="test", max_items=max_items, max_wait_s=wait_s, timeout_s=timeout_s)


def test_concurrent_requests_share_one_call_and_each_gets_its_own_results() -> None:
    model = RecordingModel()
    batcher = make_batcher(model, wait_s=0.3)
    requests = [[10 * r + i for i in range(3)] for r in range(8)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(batcher.submit, requests))
    assert results == [[2 * x for x in request] for request in requests]
    assert len(model.calls) == 1 and sorted(model.calls[0]) == sorted(x for r in requests for x in r)
    assert (batcher.stats.batches, batcher.stats.requests, batcher.stats.items) == (1, 8, 24)


def test_a_batch_never_exceeds_max_items_and_no_request_is_split() -> None:
    model = RecordingModel()
    batcher = make_batcher(model, max_items=5, wait_s=0.3)
    requests = [[r, r, r] for r in range(6)]
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(batcher.submit, requests))
    assert results == [[2 * r] * 3 for r in range(6)]
    assert all(len(call) <= 5 for call in model.calls)
    assert len(model.calls) == 6  # two requests of 3 never fit in 5


def test_a_request_larger_than_max_items_runs_alone() -> None:
    model = RecordingModel()
    batcher = make_batcher(model, max_items=4, wait_s=0.0)
    assert batcher.submit(list(range(10))) == [2 * x for x in range(10)]
    assert model.calls == [list(range(10))]


def test_a_lone_request_waits_at_most_the_batching_window() -> None:
    batcher = make_batcher(RecordingModel(), wait_s=0.05)
    started = time.perf_counter()
    assert batcher.submit([1]) == [2]
    assert time.perf_counter() - started < 1.0


def test_a_model_error_fails_every_request_of_its_batch_and_the_batcher_goes_on() -> None:
    failing = {"on": True}

    def model(items: list[int]) -> list[int]:
        if failing["on"]:
            raise ValueError("CUDA out of memory")
        return items

    batcher = make_batcher(model, wait_s=0.2)
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(batcher.submit, [i]) for i in range(3)]
        for future in futures:
            with pytest.raises(ValueError, match="out of memory"):
                future.result()
    failing["on"] = False
    assert batcher.submit([7]) == [7]


def test_a_model_returning_the_wrong_number_of_results_is_an_error() -> None:
    batcher = make_batcher(lambda items: items[:-1], wait_s=0.0)
    with pytest.raises(RuntimeError, match="2 results for 3 items"):
        batcher.submit([1, 2, 3])


def test_a_stuck_model_times_out_instead_of_hanging_the_caller() -> None:
    batcher = make_batcher(RecordingModel(delay_s=2.0), wait_s=0.0, timeout_s=0.2)
    with pytest.raises(BatchTimeoutError, match="no batch finished for"):
        batcher.submit([1])


def test_close_finishes_queued_requests_then_refuses_new_ones() -> None:
    model = RecordingModel(delay_s=0.1)
    batcher = make_batcher(model, max_items=1, wait_s=0.0)
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(batcher.submit, [i]) for i in range(3)]
        time.sleep(0.05)
        batcher.close()
        assert sorted(f.result()[0] for f in futures) == [0, 2, 4]
    batcher.join(2)
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit([1])


def test_no_items_need_no_model_call() -> None:
    model = RecordingModel()
    assert make_batcher(model).submit([]) == []
    assert model.calls == []


def test_requests_started_on_two_batchers_run_at_the_same_time() -> None:
    def slow_double(items: list[int]) -> list[int]:
        time.sleep(0.2)
        return [2 * item for item in items]

    first = MicroBatcher(slow_double, name="first", max_items=8, max_wait_s=0.0, timeout_s=5)
    second = MicroBatcher(slow_double, name="second", max_items=8, max_wait_s=0.0, timeout_s=5)
    started = time.perf_counter()

    pending = first.start([1, 2])
    assert second.submit([3]) == [6]
    assert pending.result() == [2, 4]

    assert time.perf_counter() - started < 0.35  # one 0.2 s call's time, not two
    assert first.start([]).result() == []


def test_waiting_behind_a_backlog_is_not_a_timeout_while_the_model_makes_progress() -> None:
    # Each call takes 0.15 s and serves one request; the fourth request waits 0.6 s in all, four
    # times the timeout, but a batch finishes every 0.15 s.
    model = RecordingModel(delay_s=0.15)
    batcher = make_batcher(model, max_items=1, wait_s=0.0, timeout_s=0.25)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda item: batcher.submit([item]), [1, 2, 3, 4]))

    assert results == [[2], [4], [6], [8]]
    assert len(model.calls) == 4
