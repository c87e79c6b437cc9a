"""Stop strings on a growing text: where the text of record ends, and what of it is certain so far.

Shared by the worker's incremental decoder (a reply ends where the model starts the customer's turn)
and the OpenAI-compatible completions (a request's ``stop``), so that both hold back alike the text
that could still turn out to begin a stop string.
"""

from __future__ import annotations

from collections.abc import Sequence


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the earliest stop string, and whether one was found."""
    found = [index for index in (text.find(stop) for stop in stops) if index >= 0]
    return (text[: min(found)], True) if found else (text, False)


def certain_prefix(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """What of a growing ``text`` no later text can change: up to a stop string, or without the
    longest end that could still become one; and whether a stop string was found."""
    cut, stopped = cut_at_stop(text, stops)
    if stopped:
        return cut, True
    held = max(
        (size for stop in stops for size in range(1, len(stop)) if text.endswith(stop[:size])),
        default=0,
    )
    return text[: len(text) - held], False
