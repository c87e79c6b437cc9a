"""A topic's bucket is a spike when its negative share or volume stands k σ above the buckets
before it, with enough items, a baseline long enough to trust, and σ floored on flat baselines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.monitoring import Bucket, SpikeMetric, SpikeRule
from db.trends import TrendPoint
from workers.monitoring.spikes import closed_buckets, spike_in_bucket, spikes_in_order

START = datetime(2015, 2, 20, tzinfo=UTC)
HOUR = timedelta(hours=1)
RULE = SpikeRule(bucket=Bucket.HOUR, window=12, k=3.0, min_volume=10, min_baseline_buckets=6)


def _series(negatives: list[int], volume: int = 20) -> list[TrendPoint]:
    return [TrendPoint(START + HOUR * i, volume, n, 0.0) for i, n in enumerate(negatives)]


def test_a_surge_of_negatives_after_a_steady_baseline_is_a_spike_of_its_strongest_metric() -> None:
    series = _series([4, 5, 4, 6, 5, 4, 5, 6, 4, 5, 5, 4, 16])

    spike = spike_in_bucket(series, START + HOUR * 12, RULE)

    assert spike is not None
    assert spike.bucket_start == START + HOUR * 12 and spike.volume == 20
    assert spike.metric in (SpikeMetric.NEGATIVE_SHARE, SpikeMetric.NEGATIVE_VOLUME)
    assert spike.value > spike.baseline + 3 * spike.sigma


def test_ordinary_wobble_is_no_spike() -> None:
    assert spike_in_bucket(_series([4, 5, 4, 6, 5, 4, 5, 6, 4, 5, 5, 4, 7]), START + HOUR * 12, RULE) is None


def test_a_quiet_bucket_raises_nothing_however_negative() -> None:
    series = _series([1] * 12) + [TrendPoint(START + HOUR * 12, 5, 5, -1.0)]

    assert spike_in_bucket(series, START + HOUR * 12, RULE) is None


def test_a_baseline_with_too_few_buckets_is_not_trusted() -> None:
    series = _series([4, 5, 4, 5, 16])

    assert spike_in_bucket(series, START + HOUR * 4, RULE) is None


def test_a_flat_baseline_needs_a_real_rise_not_any_rise() -> None:
    flat = _series([5] * 12 + [6])  # σ = 0: without a floor, one more negative would be a spike

    assert spike_in_bucket(flat, START + HOUR * 12, RULE) is None
    assert spike_in_bucket(_series([5] * 12 + [15]), START + HOUR * 12, RULE) is not None


def test_closed_buckets_run_from_the_start_to_the_one_still_filling() -> None:
    start = START + HOUR * 5 + timedelta(minutes=10)
    latest = START + HOUR * 8 + timedelta(minutes=1)

    assert closed_buckets(start, latest, RULE) == [START + HOUR * h for h in (5, 6, 7)]
    assert closed_buckets(latest, latest, RULE) == []


def test_a_finished_series_raises_in_time_order_and_respects_the_cooldown() -> None:
    rule = RULE.model_copy(update={"cooldown": 2})
    calm = [4, 5, 4, 6, 5, 4, 5, 6, 4, 5, 5, 4]
    series = _series([*calm, 16, 17, *calm, 18])

    raised = spikes_in_order(series, rule)

    # Hour 13 falls in hour 12's cooldown; hour 26 is far past it, after a calm baseline.
    assert [spike.bucket_start for spike in raised] == [START + HOUR * 12, START + HOUR * 26]
