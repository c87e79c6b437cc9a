"""``queuebot benchmark`` compares int8 with torch fp32 at the same number of threads, and its torch
pass leaves the process's thread count as it found it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cli.benchmark import fp32_reference_threads, raw_forward_speed
from core.jobs import SENTIMENT_GENERAL_MODEL
from workers.ml.backends import ONNX_INT8, TORCH
from workers.model_store import ModelStore


@pytest.mark.parametrize(
    ("backend", "int8_threads", "expected"),
    [
        (ONNX_INT8, 1, 1),  # the worker's default: torch gets one thread too
        (ONNX_INT8, 2, 2),
        (ONNX_INT8, 0, None),  # int8 on one thread per core: torch's own default is the same
        (TORCH, 1, None),  # torch served: its reference is itself, on its own threads
    ],
)
def test_the_fp32_reference_runs_on_as_many_threads_as_the_int8_pass(
    backend: str, int8_threads: int, expected: int | None
) -> None:
    assert fp32_reference_threads(backend, int8_threads) == expected


def test_a_torch_pass_on_its_own_thread_count_restores_the_processs(tiny_models_dir: Path) -> None:
    folder = ModelStore(tiny_models_dir).folder(SENTIMENT_GENERAL_MODEL)
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    speed = raw_forward_speed(folder, ["the flight left on time"] * 8, "cpu", TORCH, torch_threads=other)
    assert speed > 0
    assert torch.get_num_threads() == before
