"""Spike detection on one topic's trend, after Huginn's PeakDetector: a bucket is a spike when its
metric exceeds the mean of the buckets before it by k standard deviations.

Pure functions over trend points, so the rule can be tested, replayed and evaluated without a worker.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.monitoring import SpikeMetric, SpikeRule
from db.trends import TrendPoint


@dataclass(frozen=True)
class Spike:
    metric: SpikeMetric
    bucket_start: datetime
    value: float
    baseline: float  # mean of the window
    sigma: float  # the standard deviation used (after its floor)
    volume: int

    @property
    def z(self) -> float:
        return (self.value - self.baseline) / self.sigma


def metric_value(point: TrendPoint, metric: SpikeMetric) -> float:
    return point.negative_share if metric is SpikeMetric.NEGATIVE_SHARE else float(point.negatives)


def spike_in_bucket(series: Sequence[TrendPoint], tested: datetime, rule: SpikeRule) -> Spike | None:
    """The strongest spike (largest z) of the bucket starting at ``tested``, or None.

    ``series`` holds the topic's non-empty buckets, oldest first; the baseline is the ``rule.window``
    buckets before ``tested``. Empty buckets count as zero negatives for the volume metric and are
    left out of the share's baseline (a share of nothing says nothing).
    """
    by_start = {point.bucket_start: point for point in series}
    point = by_start.get(tested)
    if point is None or point.volume < rule.min_volume:
        return None
    length = rule.bucket.length
    window = [by_start.get(tested - length * i) for i in range(rule.window, 0, -1)]
    present = [p for p in window if p is not None]
    if len(present) < rule.min_baseline_buckets:
        return None
    spikes = []
    for metric in rule.metrics:
        if metric is SpikeMetric.NEGATIVE_SHARE:
            values = [metric_value(p, metric) for p in present]
            floor = rule.min_share_sigma
        else:
            values = [0.0 if p is None else metric_value(p, metric) for p in window]
            floor = math.sqrt(max(statistics.fmean(values), 1.0))
        baseline = statistics.fmean(values)
        sigma = max(statistics.pstdev(values), floor)
        value = metric_value(point, metric)
        if value > baseline + rule.k * sigma:
            spikes.append(Spike(metric, tested, value, baseline, sigma, point.volume))
    return max(spikes, key=lambda spike: spike.z, default=None)


def closed_buckets(start: datetime, latest: datetime, rule: SpikeRule) -> list[datetime]:
    """The buckets from the one holding ``start`` up to, not including, the one holding ``latest``
    (still filling: the stream has not moved past it)."""
    length = rule.bucket.length
    bucket = rule.bucket.start_of(start)
    end = rule.bucket.start_of(latest)
    buckets = []
    while bucket < end:
        buckets.append(bucket)
        bucket += length
    return buckets


def spikes_in_order(series: Sequence[TrendPoint], rule: SpikeRule) -> list[Spike]:
    """Every alert the rule raises on a finished series, bucket by bucket in time order, as a live
    stream in order would raise them (cooldown included). What the evaluation compares."""
    if not series:
        return []
    raised: list[Spike] = []
    length = rule.bucket.length
    bucket = series[0].bucket_start
    while bucket <= series[-1].bucket_start:
        cooling = raised and bucket - raised[-1].bucket_start <= length * rule.cooldown
        spike = None if cooling else spike_in_bucket(series, bucket, rule)
        if spike is not None:
            raised.append(spike)
        bucket += length
    return raised
