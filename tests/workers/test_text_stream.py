"""The publisher of generated text (workers/text_stream.py) against a real Redis: what followers read
from a job's stream is each run's text in order, however the pieces were gathered into entries."""

from __future__ import annotations

import uuid

import pytest

from core.job_text import joined, read_pieces
from workers.redis_client import redis_client
from workers.text_stream import TextPublisher


@pytest.fixture
def publisher(redis_server: object) -> TextPublisher:
    return TextPublisher()


def test_pieces_reach_the_jobs_stream_in_order_and_gathered_into_few_entries(
    publisher: TextPublisher,
) -> None:
    job, other = str(uuid.uuid4()), str(uuid.uuid4())
    stream, other_stream = publisher.stream(job), publisher.stream(other)
    words = [f" word{i}" for i in range(40)]
    for word in words:
        stream(0, word)
        stream(1, word.upper())
        other_stream(0, "x")
    assert publisher.flush()

    pieces = read_pieces(redis_client(), job)
    assert joined(pieces, 2) == ["".join(words), "".join(words).upper()]
    assert joined(read_pieces(redis_client(), other)) == ["x" * 40]
    assert pieces[0].reset
    assert len(pieces) < 1 + 2 * len(words), "pieces queued together share an entry"


def test_a_new_run_voids_the_earlier_runs_text_and_nothing_is_joined_across_it(
    publisher: TextPublisher,
) -> None:
    job = str(uuid.uuid4())
    first = publisher.stream(job)
    first(0, "The first run")
    second = publisher.stream(job)
    second(0, "The second")
    second(0, " run")
    assert publisher.flush()

    pieces = read_pieces(redis_client(), job)

    assert [piece.reset for piece in pieces].count(True) == 2
    assert joined(pieces) == ["The second run"]
    assert (
        "".join(p.text for p in pieces[: [i for i, p in enumerate(pieces) if p.reset][1]]) == "The first run"
    )


def test_a_run_that_tells_no_text_still_voids_the_earlier_runs_text_once_flushed(
    publisher: TextPublisher,
) -> None:
    job = str(uuid.uuid4())
    publisher.stream(job)(0, "The first run")
    silent = publisher.stream(job)
    silent.flush()

    pieces = read_pieces(redis_client(), job)

    assert [piece.reset for piece in pieces] == [True, False, True]
    assert joined(pieces) == [""]
