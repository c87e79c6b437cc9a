"""Publishing generated text while jobs decode: each piece goes to its job's Redis stream
(core/job_text.py says who reads it, and why a stream).

The decoding loop must never wait on Redis, so a listener only puts its piece on a queue; one thread per
process sends whatever has queued, at most every ``PIECE_INTERVAL_S``, in a single pipeline, the
consecutive pieces of a sequence joined into one entry. Each entry costs every follower an event (an
SSE frame in the web process, a Slack append), and on a CPU the web process shares the cores that
decode: a few pieces per entry keep streaming within a few per cent of not streaming at all, at the
price of that interval in time to first token. Pieces are a preview: while Redis is unreachable they
are dropped with a warning, and the job's stored result, the text of record, is unaffected.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from redis.exceptions import RedisError

from core.job_text import MAX_PIECES, PIECE_INTERVAL_S, RESET_FIELDS, TEXT_TTL_S, piece_fields
from core.redis_keys import job_text_stream
from core.settings import get_settings
from workers.redis_client import redis_client

log = logging.getLogger(__name__)

# How long a finished job waits for its last pieces to be sent before it stores its result: the
# followers then see every piece before the job's "done".
FLUSH_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class _Piece:
    job_id: str
    fields: dict[str, str]


@dataclass(frozen=True)
class _Flush:
    sent: threading.Event


class TextPublisher:
    def __init__(self) -> None:
        # Pieces queued together (a run's reset and its first text) are one item, so the thread
        # cannot wake between them.
        self._queue: queue.SimpleQueue[tuple[_Piece, ...] | _Flush] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="text-publisher", daemon=True)
        self._thread.start()

    def stream(self, job_id: str) -> JobTextStream:
        """A new run of ``job_id``'s text: its first entry voids what an earlier run published."""
        return JobTextStream(self, job_id)

    def put(self, job_id: str, choice: int, text: str, *, reset_first: bool = False) -> None:
        piece = _Piece(job_id, piece_fields(choice, text))
        self._queue.put((_Piece(job_id, RESET_FIELDS), piece) if reset_first else (piece,))

    def put_reset(self, job_id: str) -> None:
        self._queue.put((_Piece(job_id, RESET_FIELDS),))

    def flush(self, timeout_s: float = FLUSH_TIMEOUT_S) -> bool:
        """Wait until everything queued so far has been sent (or dropped); False if that took too long."""
        sent = threading.Event()
        self._queue.put(_Flush(sent))
        return sent.wait(timeout_s)

    def _loop(self) -> None:
        sent_at = 0.0
        while True:
            batch: list[tuple[_Piece, ...] | _Flush] = [self._queue.get()]
            # Gather until the interval is up, or at once for a job waiting for its pieces to be sent
            # (it stores its result after them).
            while not isinstance(batch[-1], _Flush):
                try:
                    batch.append(
                        self._queue.get(timeout=max(0.0, sent_at + PIECE_INTERVAL_S - time.monotonic()))
                    )
                except queue.Empty:
                    break
            batch += self._waiting()
            self._send(_joined([piece for item in batch if isinstance(item, tuple) for piece in item]))
            sent_at = time.monotonic()
            for item in batch:
                if isinstance(item, _Flush):
                    item.sent.set()

    def _waiting(self) -> list[tuple[_Piece, ...] | _Flush]:
        items: list[tuple[_Piece, ...] | _Flush] = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    def _send(self, pieces: list[_Piece]) -> None:
        if not pieces:
            return
        try:
            pipeline = redis_client().pipeline(transaction=False)
            for piece in pieces:
                pipeline.xadd(
                    job_text_stream(piece.job_id), piece.fields, maxlen=MAX_PIECES, approximate=True
                )
            for job_id in {piece.job_id for piece in pieces}:
                pipeline.expire(job_text_stream(job_id), TEXT_TTL_S)
            pipeline.execute()
        except RedisError as exc:
            log.warning(
                "%d text pieces not published (their jobs' results are unaffected): %s", len(pieces), exc
            )


def _joined(pieces: list[_Piece]) -> list[_Piece]:
    """The pieces in order, each run of text pieces of the same job and sequence as one (a job's reset
    entry ends its runs, so nothing moves across it)."""
    joined: list[_Piece] = []
    open_runs: dict[tuple[str, str], int] = {}  # (job, choice) -> index of its last text piece in joined
    for piece in pieces:
        if "t" not in piece.fields:  # a reset
            open_runs = {key: at for key, at in open_runs.items() if key[0] != piece.job_id}
            joined.append(piece)
            continue
        key = (piece.job_id, piece.fields["c"])
        at = open_runs.get(key)
        if at is None:
            open_runs[key] = len(joined)
            joined.append(piece)
        else:
            earlier = joined[at]
            joined[at] = _Piece(
                piece.job_id, {**earlier.fields, "t": earlier.fields["t"] + piece.fields["t"]}
            )
    return joined


class JobTextStream:
    """A job run's listener (``workers.ml.gpt2_decoding.TextListener``): hands each piece on.

    The run's reset entry goes with its first text, not when the run starts: sent alone, it would
    open the publisher's interval and hold that first text back by up to ``PIECE_INTERVAL_S``, the
    time to first token. A run that tells no text sends it when flushed."""

    def __init__(self, publisher: TextPublisher, job_id: str) -> None:
        self._publisher = publisher
        self.job_id = job_id
        self._reset_sent = False

    def __call__(self, choice: int, text: str) -> None:
        self._publisher.put(self.job_id, choice, text, reset_first=not self._reset_sent)
        self._reset_sent = True

    def flush(self) -> None:
        if not self._reset_sent:
            self._publisher.put_reset(self.job_id)
            self._reset_sent = True
        if not self._publisher.flush():
            log.warning(
                "job %s: its last text pieces were not sent within %.0f s", self.job_id, FLUSH_TIMEOUT_S
            )


@lru_cache(maxsize=1)
def text_publisher() -> TextPublisher:
    """This process's publisher (one thread), started by the first job that streams."""
    return TextPublisher()


def start_text_stream(job_id: str) -> JobTextStream | None:
    """The listener for a new run of ``job_id``: its text goes to the job's stream as it is decoded.
    None when the settings turn streaming off (``stream_generated_text``)."""
    if not get_settings().stream_generated_text:
        return None
    return text_publisher().stream(job_id)
