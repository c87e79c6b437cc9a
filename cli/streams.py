"""Recorded streams to replay: each file becomes items with a text, a time, a topic and, where the
data set has one, a human label (for evaluating the model against it).

Formats:
- ``airline``: Crowdflower's airline tweets (``text``, ``tweet_created`` as ``2/24/2015 11:35``,
  ``airline`` as the topic, ``airline_sentiment`` as the label). The times carry no zone; they are
  read as UTC, which shifts every bucket alike. The texts are as Twitter's API gave them, with
  ``&``, ``<`` and ``>`` written as HTML entities: they are decoded here, once, so that what is
  stored and shown is what the customer wrote.
- ``cnbc``: CNBC headlines (``Headlines``, ``Time`` as `` 7:51  PM ET Fri, 17 July 2020``), US
  Eastern time; one topic, ``cnbc``, unless ``--topic`` says otherwise (the replay also asks for
  each headline's predicted topic: ``cli/replay.py``).
- ``jsonl``: one object per line with ``text`` and ``occurred_at`` (ISO 8601 with a zone), optional
  ``topic`` (without one, the item's topic is predicted), ``source`` and ``label``.

Every problem names the file and line; a file with one is refused before anything is sent.
"""

from __future__ import annotations

import csv
import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from core.jobs import MAX_SENTIMENT_TEXT_CHARS, SENTIMENT_LABELS

EASTERN = ZoneInfo("America/New_York")
_CNBC_TIME = re.compile(r"^\s*(\d{1,2}:\d{2})\s+(AM|PM)\s+ET\s+\w{3},\s+(\d{1,2} \w+ \d{4})\s*$")


class StreamFormat(StrEnum):
    AIRLINE = "airline"
    CNBC = "cnbc"
    JSONL = "jsonl"


class StreamError(ValueError):
    """A stream file that cannot be replayed; the message names the file and line."""


@dataclass(frozen=True)
class StreamItem:
    text: str
    occurred_at: datetime
    topic: str | None  # None: the item has none of its own, and the topic model predicts one
    source: str
    label: str | None = None  # the data set's own label, where it has one


def read_stream(path: Path, fmt: StreamFormat, topic: str | None = None) -> list[StreamItem]:
    """Every item of the file, oldest first (ties keep the file's order)."""
    if not path.is_file():
        raise StreamError(f"{path}: no such file")
    readers = {StreamFormat.AIRLINE: _airline, StreamFormat.CNBC: _cnbc, StreamFormat.JSONL: _jsonl}
    items = readers[fmt](path, topic)
    if not items:
        raise StreamError(f"{path}: no items")
    return sorted(items, key=lambda item: item.occurred_at)


def _text(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise StreamError(f"{where}: no text")
    # The API refuses longer texts; a replay keeps the start rather than lose the item.
    return raw.strip()[:MAX_SENTIMENT_TEXT_CHARS]


def _airline(path: Path, topic: str | None) -> list[StreamItem]:
    items = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            where = f"{path}, line {line}"
            try:
                occurred_at = datetime.strptime(row["tweet_created"], "%m/%d/%Y %H:%M").replace(tzinfo=UTC)
            except (KeyError, ValueError):
                raise StreamError(
                    f"{where}: tweet_created {row.get('tweet_created')!r} is not M/D/YYYY HH:MM"
                ) from None
            label = row.get("airline_sentiment")
            if label not in SENTIMENT_LABELS:
                raise StreamError(f"{where}: airline_sentiment {label!r} is not one of {SENTIMENT_LABELS}")
            airline = (row.get("airline") or "").strip()
            if not airline and topic is None:
                raise StreamError(f"{where}: no airline to use as the topic")
            items.append(
                StreamItem(
                    _text(html.unescape(row.get("text") or ""), where),
                    occurred_at,
                    topic or airline,
                    "replay:airline",
                    label,
                )
            )
    return items


def _cnbc(path: Path, topic: str | None) -> list[StreamItem]:
    items = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if not any((value or "").strip() for value in row.values()):
                continue  # the file separates its pages with blank rows
            where = f"{path}, line {line}"
            match = _CNBC_TIME.match(row.get("Time") or "")
            if match is None:
                raise StreamError(
                    f"{where}: Time {row.get('Time')!r} is not like ' 7:51  PM ET Fri, 17 July 2020'"
                )
            clock, half, day = match.groups()
            local = _cnbc_local_time(f"{day} {clock} {half}", where)
            items.append(
                StreamItem(
                    _text(row.get("Headlines"), where), local.astimezone(UTC), topic or "cnbc", "replay:cnbc"
                )
            )
    return items


def _cnbc_local_time(text: str, where: str) -> datetime:
    # Months are written out ("17 July 2020"), cut to three letters ("28 Feb 2020") or to four
    # ("30 Sept 2019").
    text = text.replace(" Sept ", " Sep ")
    for pattern in ("%d %B %Y %I:%M %p", "%d %b %Y %I:%M %p"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=EASTERN)
        except ValueError:
            continue
    raise StreamError(f"{where}: {text!r} is no date and time")


def _jsonl(path: Path, topic: str | None) -> list[StreamItem]:
    items = []
    with path.open(encoding="utf-8") as handle:
        for line, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            where = f"{path}, line {line}"
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise StreamError(f"{where}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise StreamError(f"{where}: expected an object")
            try:
                occurred_at = datetime.fromisoformat(str(record.get("occurred_at")))
            except ValueError:
                raise StreamError(
                    f"{where}: occurred_at {record.get('occurred_at')!r} is not ISO 8601"
                ) from None
            if occurred_at.tzinfo is None:
                raise StreamError(f"{where}: occurred_at needs a time zone")
            label = record.get("label")
            if label is not None and label not in SENTIMENT_LABELS:
                raise StreamError(f"{where}: label {label!r} is not one of {SENTIMENT_LABELS}")
            items.append(
                StreamItem(
                    _text(record.get("text"), where),
                    occurred_at.astimezone(UTC),
                    topic or (str(record["topic"]) if record.get("topic") else None),
                    str(record.get("source") or "replay"),
                    label,
                )
            )
    return items


def first_texts(path: Path, count: int) -> list[str]:
    """The first ``count`` values of a CSV file's ``text`` column; a file with fewer is an error."""
    with path.open(newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    if len(texts) < count:
        raise ValueError(f"{path} has {len(texts)} texts, fewer than the {count} asked for")
    return texts[:count]
