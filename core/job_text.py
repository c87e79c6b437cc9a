"""A job's text while it is being generated: one Redis stream per job, read by whoever follows it.

The worker's decoding loop appends each request's new text as it is decoded (workers/text_stream.py);
the web app's event stream, the OpenAI-compatible routes and the Slack streamer read it. A Redis
*stream* rather than pub/sub, because a follower that connects late, or reconnects, must first get the
text so far: it reads the entries from the start (or after the last one it saw, whose id the web
stream sends as the SSE ``id``), then blocks for new ones. Pub/sub would have sent those pieces to
nobody. Each stream is capped at ``MAX_PIECES`` entries and expires ``TEXT_TTL_S`` after its last one,
so finished jobs cost Redis nothing for long.

Each run of a job starts its pieces with a *reset* entry: a job run again (its worker died, or the
database failed under it) decodes its text anew, and a follower that saw the earlier run's pieces
must drop them rather than append to them.

The pieces are a preview: the job row's result, stored once when the job is done, is the text of
record. Followers end on the job's status, not on the stream, and show the stored text at the end
(a generated reply that the guard refuses is replaced by the hand-off message, for instance).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
import redis.asyncio as aioredis

from core.jobs import JobKind
from core.redis_keys import job_text_stream

# The kinds whose text is streamed while they run (a reply only on the generation path).
STREAMED_KINDS = frozenset({JobKind.GENERATE, JobKind.REPLY})
TEXT_TTL_S = 600
# More than any job decodes (tokens x return sequences), so that a late follower always sees it all.
MAX_PIECES = 20_000
START = "0-0"  # read from the first piece
# How often a job's new text is worked out and sent: the decoding loop decodes a followed row's new
# tokens at most this often (workers/ml/streamed_rows.py), and the publisher sends at most this often
# (workers/text_stream.py). Each entry costs every follower an event; a person reading sees no gaps.
PIECE_INTERVAL_S = 0.05


@dataclass(frozen=True)
class TextPiece:
    """New text of one of a job's sequences (``choice``: which of its ``num_return_sequences``), or,
    with ``reset``, the start of a new run: the text so far is void."""

    entry_id: str  # the stream entry's id: where a follower resumes
    choice: int
    text: str
    reset: bool = False


def piece_fields(choice: int, text: str) -> dict[str, str]:
    return {"c": str(choice), "t": text}


RESET_FIELDS = {"r": "1"}


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _pieces(
    reply: list[tuple[bytes | str, list[tuple[bytes | str, dict[bytes | str, bytes | str]]]]],
) -> list[TextPiece]:
    """XREAD's reply for one stream, as pieces, whether or not the client decodes responses."""
    if not reply:
        return []
    [(_key, entries)] = reply
    pieces = []
    for entry_id, fields in entries:
        named = {_str(name): _str(value) for name, value in fields.items()}
        if "r" in named:
            pieces.append(TextPiece(entry_id=_str(entry_id), choice=0, text="", reset=True))
        else:
            pieces.append(TextPiece(entry_id=_str(entry_id), choice=int(named["c"]), text=named["t"]))
    return pieces


def read_pieces(
    client: redis.Redis, job_id: str, after: str = START, block_ms: int | None = None
) -> list[TextPiece]:
    """The pieces after ``after``; with ``block_ms``, waits that long for one when there are none yet."""
    return _pieces(client.xread({job_text_stream(job_id): after}, block=block_ms))


async def aread_pieces(
    client: aioredis.Redis, job_id: str, after: str = START, block_ms: int | None = None
) -> list[TextPiece]:
    """``read_pieces`` for asyncio code (the web app)."""
    return _pieces(await client.xread({job_text_stream(job_id): after}, block=block_ms))


def joined(pieces: list[TextPiece], choices: int = 1) -> list[str]:
    """The text so far of each of ``choices`` sequences, as of the last run's pieces."""
    texts = [""] * max(choices, 1 + max((piece.choice for piece in pieces), default=0))
    for piece in pieces:
        if piece.reset:
            texts = [""] * len(texts)
        else:
            texts[piece.choice] += piece.text
    return texts
