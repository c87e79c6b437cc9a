"""Recorded streams become time-ordered items with topic and, where the data has one, a label; a
bad line is refused with its file and line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli.replay import batches
from cli.streams import StreamError, StreamFormat, StreamItem, read_stream
from core.settings import get_settings

STREAMS = get_settings().data_dir / "streams"


def test_the_airline_stream_reads_whole_with_airlines_as_topics_and_human_labels() -> None:
    items = read_stream(STREAMS / "airline_tweets.csv", StreamFormat.AIRLINE)

    assert len(items) == 14640
    assert [item.occurred_at for item in items] == sorted(item.occurred_at for item in items)
    assert {item.topic for item in items} == {
        "Virgin America", "United", "Southwest", "Delta", "US Airways", "American"
    }  # fmt: skip
    assert {item.label for item in items} == {"negative", "neutral", "positive"}


def test_tweets_come_as_written_with_twitter_s_html_entities_decoded_once(tmp_path: Path) -> None:
    items = read_stream(STREAMS / "airline_tweets.csv", StreamFormat.AIRLINE)
    assert not [item.text for item in items if "&amp;" in item.text or "&gt;" in item.text]
    assert sum("&" in item.text for item in items) > 500  # the file writes each one as &amp;

    stream = tmp_path / "tweets.csv"
    stream.write_text(
        "tweet_created,airline,airline_sentiment,text\n"
        '2/24/2015 11:35,United,negative,"delays &amp; excuses &lt;3 &amp;amp;"\n'
    )
    [item] = read_stream(stream, StreamFormat.AIRLINE)
    assert item.text == "delays & excuses <3 &amp;"  # decoded once: a written "&amp;" stays


def test_cnbc_headlines_are_read_in_us_eastern_time() -> None:
    items = read_stream(STREAMS / "cnbc_headlines.csv", StreamFormat.CNBC)

    first_listed = next(
        i for i in items if i.text.startswith("Jim Cramer: A better way to invest in the Covid-19")
    )
    assert first_listed.occurred_at == datetime(2020, 7, 17, 23, 51, tzinfo=UTC)  # 7:51 PM EDT
    assert {item.topic for item in items} == {"cnbc"} and all(item.label is None for item in items)


def test_a_bad_line_names_its_file_and_line(tmp_path: Path) -> None:
    stream = tmp_path / "s.jsonl"
    stream.write_text(
        '{"text": "fine", "occurred_at": "2020-01-01T10:00:00+00:00"}\n'
        '{"text": "no zone", "occurred_at": "2020-01-01T10:00:00"}\n'
    )

    with pytest.raises(StreamError, match=r"s.jsonl, line 2: occurred_at needs a time zone"):
        read_stream(stream, StreamFormat.JSONL)


def _items(minutes: list[int]) -> list[StreamItem]:
    origin = datetime(2020, 1, 1, tzinfo=UTC)
    return [StreamItem(f"t{m}", origin + timedelta(minutes=m), "t", "s") for m in minutes]


def test_a_paced_replay_sends_each_wall_second_the_items_that_fell_due() -> None:
    # At 60x, a wall second holds a stream minute.
    sent = list(batches(_items([0, 0, 0, 1, 3, 3]), speed=60, batch_size=2))

    assert [(due, [i.text for i in batch]) for due, batch in sent] == [
        (0.0, ["t0", "t0"]),
        (0.0, ["t0"]),
        (1.0, ["t1"]),
        (3.0, ["t3", "t3"]),
    ]


def test_speed_zero_sends_full_batches_at_once() -> None:
    sent = list(batches(_items([0, 5, 10, 15, 20]), speed=0, batch_size=2))

    assert [(due, len(batch)) for due, batch in sent] == [(0.0, 2), (0.0, 2), (0.0, 1)]
