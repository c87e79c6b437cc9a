"""The trend chart of an alert: the spiking bucket against the baseline window it was judged on.

Drawn once, when the alert is raised, and stored with it: the Slack post and the API show what the
detector saw, not a trend that later items have since changed. Matplotlib's Agg backend draws
without a display; only workers import this module.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402 (the backend is chosen first)
from matplotlib.dates import DateFormatter  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from core.monitoring import Bucket, SpikeMetric, SpikeRule  # noqa: E402
from db.trends import TrendPoint  # noqa: E402
from workers.monitoring.spikes import Spike  # noqa: E402

SPIKE_COLOUR = "#c0392b"
BASELINE_COLOUR = "#1d3557"
NEUTRAL_COLOUR = "#a8b6c8"
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.5, 100
TIME_FORMAT = {Bucket.MINUTE: "%H:%M", Bucket.HOUR: "%d %b %H:%M", Bucket.DAY: "%d %b %Y"}


def render_alert_chart(topic: str, series: Sequence[TrendPoint], spike: Spike, rule: SpikeRule) -> bytes:
    """A PNG: the spike's metric per bucket over the baseline window and the spiking bucket, with the
    baseline mean and the threshold it crossed; below it, each bucket's volume and negatives. Buckets
    without items are drawn as gaps in the share and as zero volume."""
    length = rule.bucket.length
    starts = [spike.bucket_start - length * i for i in range(rule.window, -1, -1)]
    by_start = {point.bucket_start: point for point in series}
    points = [by_start.get(start) for start in starts]

    figure, (metric_axes, volume_axes) = plt.subplots(
        2, 1, sharex=True, figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, height_ratios=(3, 2)
    )
    try:
        _draw_metric(metric_axes, starts, points, spike, rule)
        _draw_volume(volume_axes, starts, points, spike, rule)
        metric_axes.set_title(_title(topic, spike, rule), fontsize=10, loc="left")
        figure.autofmt_xdate()
        figure.tight_layout()
        return _png(figure)
    finally:
        plt.close(figure)


def _draw_metric(
    axes: plt.Axes,
    starts: list[datetime],
    points: list[TrendPoint | None],
    spike: Spike,
    rule: SpikeRule,
) -> None:
    if spike.metric is SpikeMetric.NEGATIVE_SHARE:
        values = [float("nan") if p is None else p.negative_share for p in points]
        axes.set_ylabel("negative share")
    else:
        values = [0.0 if p is None else float(p.negatives) for p in points]
        axes.set_ylabel("negatives")
    axes.plot(starts, values, marker="o", markersize=3, color=BASELINE_COLOUR, linewidth=1.2)
    axes.plot([starts[-1]], [spike.value], marker="o", markersize=7, color=SPIKE_COLOUR)
    window = (starts[0], starts[-2])
    axes.hlines(spike.baseline, *window, colors=BASELINE_COLOUR, linestyles="dashed", linewidth=1)
    threshold = spike.baseline + rule.k * spike.sigma
    axes.hlines(threshold, *window, colors=SPIKE_COLOUR, linestyles="dotted", linewidth=1)
    axes.annotate(
        f"baseline {_number(spike.baseline, spike.metric)}",
        (starts[0], spike.baseline),
        textcoords="offset points",
        xytext=(0, 4),
        fontsize=8,
        color=BASELINE_COLOUR,
    )
    axes.annotate(
        f"threshold (mean + {rule.k:g}σ) {_number(threshold, spike.metric)}",
        (starts[0], threshold),
        textcoords="offset points",
        xytext=(0, 4),
        fontsize=8,
        color=SPIKE_COLOUR,
    )
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", alpha=0.3)


def _draw_volume(
    axes: plt.Axes,
    starts: list[datetime],
    points: list[TrendPoint | None],
    spike: Spike,
    rule: SpikeRule,
) -> None:
    width = rule.bucket.length * 0.8
    volumes = [0 if p is None else p.volume for p in points]
    negatives = [0 if p is None else p.negatives for p in points]
    axes.bar(starts, volumes, width=width, color=NEUTRAL_COLOUR, label="items")
    colours = [BASELINE_COLOUR] * (len(starts) - 1) + [SPIKE_COLOUR]
    axes.bar(starts, negatives, width=width, color=colours, label="negative")
    axes.set_ylabel(f"items per {rule.bucket.value}")
    axes.xaxis.set_major_formatter(DateFormatter(TIME_FORMAT[rule.bucket]))
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    axes.grid(axis="y", alpha=0.3)


def _title(topic: str, spike: Spike, rule: SpikeRule) -> str:
    metric = spike.metric.value.replace("_", " ")
    return (
        f"{topic}: {metric} {_number(spike.value, spike.metric)} in the {rule.bucket.value} from "
        f"{spike.bucket_start:%Y-%m-%d %H:%M} UTC\nagainst {_number(spike.baseline, spike.metric)} "
        f"over the {rule.window} {rule.bucket.value}s before (z {spike.z:.1f}, {spike.volume} items)"
    )


def _number(value: float, metric: SpikeMetric) -> str:
    return f"{value:.0%}" if metric is SpikeMetric.NEGATIVE_SHARE else f"{value:.1f}"


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
