"""``queuebot benchmark-streaming`` reads streaming's cost as mean total on over off, overall and round
by round (the spread that the machine's drift leaves in the overall figure)."""

from __future__ import annotations

import pytest

from cli.streaming_benchmark import Timing, Timings


def test_the_overhead_is_read_overall_and_round_by_round() -> None:
    timings = Timings()
    timings.add(True, 16, [Timing(0.2, 1.1, round=0), Timing(0.2, 1.1, round=0), Timing(0.2, 2.0, round=1)])
    timings.add(False, 16, [Timing(None, 1.0, round=0), Timing(None, 2.0, round=1)])

    assert timings.overhead(16) == pytest.approx((4.2 / 3) / 1.5)
    assert timings.overhead_by_round(16) == pytest.approx([1.1, 1.0])
