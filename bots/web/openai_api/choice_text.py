"""One completion choice's text on its way to the client: the streamed pieces, then the text of record,
cut at the request's stop strings; a client never gets text it must later unlearn.

``stop`` is applied here, to the text, not in the worker: the job decodes to ``max_tokens`` or the
model's end of text as any generation job does, and stores that whole text; the response ends before
the first stop string. While streaming, text that could be the start of a stop string is held back
until the next piece shows it is not (TGI and vLLM do the same).

The pieces are a preview and the stored text is the text of record: a new run of the job (after a
worker died) voids the pieces so far, and a run that decodes differently (unseeded sampling) makes
what was sent something other than the start of the stored text. Text is sent only while it extends
what the client already has; at the end :meth:`ChoiceText.finish` sends the rest of the stored text,
or reports that the client's text is not the start of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.stop_strings import certain_prefix, cut_at_stop

__all__ = ["ChoiceText", "cut_at_stop"]


class ChoiceText:
    def __init__(self, stops: Sequence[str] = ()) -> None:
        self.stops = tuple(stops)
        self.sent = ""
        self.stopped = False  # a stop string ended the text
        self._received = ""  # the current run's pieces, joined

    def restart(self) -> None:
        """A new run of the job: its pieces start the text again."""
        self._received = ""

    def add(self, piece: str) -> str:
        """The text to send now for a new piece (often all of it, sometimes "")."""
        self._received += piece
        if self.stopped:
            return ""
        certain, stopped = certain_prefix(self._received, self.stops)
        if not certain.startswith(self.sent):
            return ""  # a new run that has not caught up with what was sent, or one that differs
        new, self.sent, self.stopped = certain[len(self.sent) :], certain, stopped
        return new

    def finish(self, stored: str) -> str | None:
        """The rest of the text of record to send; None if what was sent is not its start."""
        final, stopped = cut_at_stop(stored, self.stops)
        if not final.startswith(self.sent):
            return None
        new, self.sent, self.stopped = final[len(self.sent) :], final, stopped
        return new
