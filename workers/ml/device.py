"""The device and CPU threads torch runs a worker's models with."""

from __future__ import annotations

import re

import torch

_CUDA = re.compile(r"cuda(:\d+)?")


def resolve_device(preference: str) -> str:
    """Map "auto" to the best device; pass "cpu"/"cuda"/"cuda:N" through.

    Asking for CUDA where there is none is an error rather than a silent CPU fallback: a worker that
    was meant to run on a GPU and quietly runs 20x slower is worse than one that refuses to start.
    """
    choice = preference.strip().lower()
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cpu":
        return "cpu"
    if _CUDA.fullmatch(choice):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {preference!r} was requested but torch sees no CUDA GPU "
                f"(torch {torch.__version__}); use 'cpu' or 'auto'"
            )
        index = int(choice.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ValueError(
                f"device {preference!r} does not exist: torch sees {torch.cuda.device_count()} GPU(s)"
            )
        return choice
    raise ValueError(f"unknown device {preference!r}: use 'auto', 'cpu', 'cuda' or 'cuda:N'")


def use_torch_threads(threads: int) -> None:
    """Torch's threads per operation in this process (``torch_threads`` in the settings); 0 keeps
    torch's default, one per core."""
    if threads > 0:
        torch.set_num_threads(threads)
