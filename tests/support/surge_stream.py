"""A recorded stream with one surge of negatives, for the tests of monitoring (API, Slack, page)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cli.streams import StreamItem

START = datetime(2015, 2, 20, tzinfo=UTC)
HOUR = timedelta(hours=1)


def surge_stream(topic: str) -> list[StreamItem]:
    """12 calm hours (2 of 12 items negative), an angry hour (10 of 12), one item the hour after,
    which closes the angry hour. Labels are given: replay it with ``given_labels=True``."""
    items = []
    for hour, negatives in [*((h, 2) for h in range(12)), (12, 10)]:
        for i in range(12):
            label = "negative" if i < negatives else "neutral"
            text = f"hour {hour} item {i}: " + ("this is awful" if label == "negative" else "fine, thanks")
            items.append(StreamItem(text, START + HOUR * hour + timedelta(minutes=i), topic, "test", label))
    items.append(StreamItem("a new hour", START + HOUR * 13, topic, "test", "neutral"))
    return items
