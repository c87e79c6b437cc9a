"""Helpers every model loader shares."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeVar

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


def reject_single_string(texts: object) -> None:
    # A bare string is a Sequence[str] too, and would be classified character by character.
    if isinstance(texts, str):
        raise TypeError("expected a sequence of texts, got a single str")
