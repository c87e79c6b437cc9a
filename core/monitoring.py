"""Sentiment monitoring's shared vocabulary: time buckets and the spike rule.

Settings hold one default rule and per-topic overrides; the worker's detector and the API's trend
queries speak these words, so a rule written in ``.env`` means the same everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Bucket(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"

    @property
    def length(self) -> timedelta:
        return {
            Bucket.MINUTE: timedelta(minutes=1),
            Bucket.HOUR: timedelta(hours=1),
            Bucket.DAY: timedelta(days=1),
        }[self]

    def start_of(self, moment: datetime) -> datetime:
        """The start of the bucket ``moment`` falls in (UTC)."""
        moment = moment.astimezone(UTC)
        if self is Bucket.MINUTE:
            return moment.replace(second=0, microsecond=0)
        if self is Bucket.HOUR:
            return moment.replace(minute=0, second=0, microsecond=0)
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)


class SpikeMetric(StrEnum):
    NEGATIVE_SHARE = "negative_share"  # negatives / volume in the bucket
    NEGATIVE_VOLUME = "negative_volume"  # negatives in the bucket


class SpikeRule(BaseModel):
    """When a topic's latest closed bucket is a spike (Huginn's PeakDetector, on buckets): its metric
    exceeds the mean of the ``window`` buckets before it by ``k`` standard deviations, it holds at least
    ``min_volume`` items, and no other alert on the topic started within ``cooldown`` buckets of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: Bucket = Bucket.HOUR
    metrics: tuple[SpikeMetric, ...] = (SpikeMetric.NEGATIVE_SHARE, SpikeMetric.NEGATIVE_VOLUME)
    window: int = Field(default=24, ge=3, description="Buckets of baseline before the one tested.")
    k: float = Field(default=3.0, gt=0, description="Standard deviations above the baseline mean.")
    min_volume: int = Field(default=10, ge=1, description="Items the tested bucket needs at least.")
    min_baseline_buckets: int = Field(
        default=6, ge=2, description="Buckets with items the baseline needs before anything is tested."
    )
    cooldown: int = Field(
        default=6, ge=0, description="Buckets either side of an alert in which the topic raises no other."
    )
    # A flat baseline (σ = 0) would make any rise a spike. σ of the negative share is at least this;
    # σ of the negative volume at least √mean, the noise of a Poisson count.
    min_share_sigma: float = Field(default=0.05, ge=0)
