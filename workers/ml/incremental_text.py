"""Token ids to text, piece by piece, so that the pieces always add up to a prefix of the final text.

Decoding one token at a time is not enough: a byte-level BPE splits some characters across tokens (the
first half decodes to U+FFFD), and the text of record is the whole decode ``.strip()``ed and, for a
reply, cut where the model starts a new turn. So a piece is released only when it can no longer
change: text ending in a partial character waits for the rest, leading whitespace is dropped,
trailing whitespace waits until something follows it, and text that could be the start of a stop
string waits until it is not. Decoding a short window of recent ids (as Hugging Face TGI and vLLM
do) keeps each step's cost independent of the text's length.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from transformers import PreTrainedTokenizerBase

from core.stop_strings import certain_prefix

REPLACEMENT = "\ufffd"
# Ids decoded again before the newest ones (between WINDOW and 2 x WINDOW): enough context for the
# tokenizer's spacing rules.
WINDOW = 6


class IncrementalText:
    def __init__(self, tokenizer: PreTrainedTokenizerBase, stops: Sequence[str] = ()) -> None:
        self._tokenizer = tokenizer
        self._decode_ids = self._decoder()
        self._stops = tuple(stops)
        self._ids: list[int] = []
        self._prefix = 0  # ids[prefix:read] decode to _window_text, already taken into _text
        self._read = 0
        self._window_text = ""
        self._text = ""  # everything decoded so far, untrimmed
        self._released = 0  # how much of the trimmed text has been handed out
        self._stopped = False

    def add(self, token_id: int) -> None:
        """Add one generated id; its text is worked out by the next ``take``."""
        if not self._stopped:
            self._ids.append(token_id)

    def take(self) -> str:
        """The text that became certain since the last call (often ""). Several ids added between two
        calls cost one decode, so a caller may take once per step or once every few steps."""
        if self._stopped or len(self._ids) == self._read:
            return ""
        after = self._decode(self._ids[self._prefix :])
        if after.endswith(REPLACEMENT) or len(after) <= len(self._window_text):
            return ""  # a character split across tokens: wait for its other bytes
        self._text += after[len(self._window_text) :]
        self._read, self._window_text = len(self._ids), after
        if self._read - self._prefix > 2 * WINDOW:
            # The window slides in steps of WINDOW ids or more, so most takes cost one decode, not two.
            self._prefix = self._read - WINDOW
            self._window_text = self._decode(self._ids[self._prefix : self._read])
        return self._release()

    @property
    def stopped(self) -> bool:
        """Whether a stop string was met: the text of record ends before it."""
        return self._stopped

    def _release(self) -> str:
        text, self._stopped = certain_prefix(self._text.lstrip(), self._stops)
        certain = text.rstrip()  # trailing whitespace is kept only once something follows it
        piece = certain[self._released :]
        self._released = max(self._released, len(certain))
        return piece

    def _decode(self, ids: Sequence[int]) -> str:
        return self._decode_ids(list(ids))

    def _decoder(self) -> Callable[[list[int]], str]:
        """The tokenizer's own decode, or, for a fast tokenizer that cleans up no spaces (GPT-2's),
        its Rust backend's, which gives the same text for a third of the cost per call."""
        backend = getattr(self._tokenizer, "backend_tokenizer", None)
        if backend is None or self._tokenizer.clean_up_tokenization_spaces:
            return lambda ids: self._tokenizer.decode(ids, skip_special_tokens=True)
        return lambda ids: backend.decode(ids, skip_special_tokens=True)
