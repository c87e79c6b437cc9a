"""An alert's chart is a PNG of the baseline window with the spiking bucket marked at its right end,
for either metric and with empty buckets in the window."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import matplotlib.image
import numpy as np
import pytest

from core.monitoring import Bucket, SpikeMetric, SpikeRule
from db.trends import TrendPoint
from workers.monitoring.alert_chart import DPI, HEIGHT_IN, SPIKE_COLOUR, WIDTH_IN, render_alert_chart
from workers.monitoring.spikes import spike_in_bucket

START = datetime(2015, 2, 20, tzinfo=UTC)
HOUR = timedelta(hours=1)
RULE = SpikeRule(bucket=Bucket.HOUR, window=12, k=3.0, min_volume=10, min_baseline_buckets=6)


def _pixels(png: bytes) -> np.ndarray:
    return matplotlib.image.imread(io.BytesIO(png), format="png")


def _spike_colour_columns(image: np.ndarray) -> np.ndarray:
    red, green, blue = (int(SPIKE_COLOUR[i : i + 2], 16) / 255 for i in (1, 3, 5))
    close = np.abs(image[..., 0] - red) + np.abs(image[..., 1] - green) + np.abs(image[..., 2] - blue) < 0.05
    return np.nonzero(close.any(axis=0))[0]


@pytest.mark.parametrize("metric", list(SpikeMetric))
def test_the_chart_marks_the_spiking_bucket_right_of_its_baseline(metric: SpikeMetric) -> None:
    negatives = [4, 5, 4, 6, 5, 4, 5, 6, 4, 5, 5, 4, 16]
    series = [TrendPoint(START + HOUR * i, 20, n, 0.0) for i, n in enumerate(negatives)]
    rule = RULE.model_copy(update={"metrics": (metric,)})
    spike = spike_in_bucket(series, START + HOUR * 12, rule)
    assert spike is not None

    png = render_alert_chart("acme", series, spike, rule)

    image = _pixels(png)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert image.shape[:2] == (HEIGHT_IN * DPI, WIDTH_IN * DPI)
    # The spike's marker and bar are the only things in its colour besides the threshold line,
    # which spans the baseline; the rightmost of them is the spiking bucket near the right edge.
    columns = _spike_colour_columns(image)
    assert columns.size and columns.max() > 0.85 * image.shape[1]


def test_buckets_without_items_leave_gaps_instead_of_failing() -> None:
    hours = [0, 1, 3, 4, 7, 8, 9, 12]
    series = [TrendPoint(START + HOUR * h, 20, 16 if h == 12 else 4, 0.0) for h in hours]
    spike = spike_in_bucket(series, START + HOUR * 12, RULE)
    assert spike is not None

    png = render_alert_chart("acme", series, spike, RULE)

    assert _pixels(png).shape[:2] == (HEIGHT_IN * DPI, WIDTH_IN * DPI)
