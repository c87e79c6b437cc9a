"""What a decoding batch's listeners hear, and how often: each followed row's new ids are turned into
certain text (workers/ml/incremental_text.py) at most every ``interval_s``, not after every token.

Per token, telling a listener costs the decoding loop a decode of a window of ids and a hand-off that
wakes the publishing thread (workers/text_stream.py), on the same cores that decode. The publisher
sends at most every 50 ms anyway, so working out the text on the same beat costs no latency beyond
that, and a few decodes and wake-ups per job instead of one per token. A row's first text is told as
soon as it is certain (it is the time to first token), and ``finish`` tells what is left once the
batch is done, so that the pieces still add up to the text of record.

Each piece told becomes a stream entry, and every entry costs its followers an event: a read and an
SSE frame in the web process, a parse in the client, on a CPU worker the same cores that decode. So
a batch with more than ``ROWS_PER_INTERVAL`` followed rows tells each of them proportionally less
often (16 rows: every 200 ms at the 50-ms interval): the entries a batch sends per second stay
bounded, and with them streaming's share of the machine, while a row's step time grows with the batch
anyway. A few updates a second still read as text arriving.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from core.job_text import PIECE_INTERVAL_S
from workers.ml.gpt2_decoding import TextListener
from workers.ml.incremental_text import IncrementalText

ROWS_PER_INTERVAL = 4


@dataclass
class _Row:
    text: IncrementalText
    listener: TextListener
    choices: tuple[int, ...]  # which of its request's sequences the row is (a greedy row is all of them)
    heard: bool = False  # whether any of its text has been told yet

    def tell(self) -> None:
        piece = self.text.take()
        if piece:
            self.heard = True
            for choice in self.choices:
                self.listener(choice, piece)


class StreamedRows:
    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        stops: Sequence[str],
        followed: Mapping[int, tuple[TextListener, tuple[int, ...]]],
        interval_s: float = PIECE_INTERVAL_S,
    ) -> None:
        """``followed``: for each row somebody listens to, its listener and the choices it stands for;
        ``interval_s``: how often each row is told, up to ``ROWS_PER_INTERVAL`` followed rows."""
        self._rows = {
            row: _Row(IncrementalText(tokenizer, stops), listener, choices)
            for row, (listener, choices) in followed.items()
        }
        self.interval_s = interval_s * max(1.0, len(followed) / ROWS_PER_INTERVAL)
        self._due_at = 0.0

    def on_step(self, added: Sequence[tuple[int, int]]) -> None:
        """``decode_rows``'s ``on_step``: the (row, token) pairs one decoding step added."""
        now = time.monotonic()
        due = now >= self._due_at
        for row, token in added:
            streamed = self._rows.get(row)
            if streamed is None:
                continue
            streamed.text.add(token)
            if due or not streamed.heard:
                streamed.tell()
        if due:
            self._due_at = now + self.interval_s

    def finish(self) -> None:
        """Tell every row what is left of its text: the batch has decoded its last token."""
        for streamed in self._rows.values():
            streamed.tell()
