"""Helpers every model loader shares."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def require_folder(folder: Path) -> Path:
    """Fail with a clear error before ``from_pretrained`` sees the path.

    ``from_pretrained`` treats a path that does not exist as a Hub repository id and reports a
    confusing download error instead.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder {folder} does not exist")
    return folder


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    for start in range(0, len(items), size):
        yield items[start : start + size]


def length_ordered_batches(
    tokenizer: Any, texts: Sequence[str], max_length: int, batch_size: int, max_tokens: int | None = None
) -> Iterator[tuple[list[int], list[list[int]]]]:
    """The texts' token ids in batches of similar length, so that a forward pass pads little: each
    batch as (the rows of ``texts`` it holds, their ids), for the caller to put the outputs back.

    ``max_tokens`` also bounds a batch's padded size (rows × its longest row), so that long texts go in
    fewer rows at a time than short ones."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
    rows: list[int] = []
    for index in order:
        # Rows come shortest first, so the row being added is the batch's longest.
        full = len(rows) == batch_size or (
            max_tokens is not None and rows and (len(rows) + 1) * len(encoded[index]) > max_tokens
        )
        if full:
            yield rows, [encoded[i] for i in rows]
            rows = []
        rows.append(index)
    if rows:
        yield rows, [encoded[i] for i in rows]


def reject_single_string(texts: object) -> None:
    # A bare string is a Sequence[str] too, and would be classified character by character.
    if isinstance(texts, str):
        raise TypeError("expected a sequence of texts, got a single str")
