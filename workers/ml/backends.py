"""Which inference backend serves a model: torch (fp32, or the GPU) or its int8 ONNX export.

``QUEUEBOT_INFERENCE_BACKEND``:
- ``auto`` (default): int8 on the CPU for a model whose export exists and whose card says int8 held
  its accuracy (``held``: at most ``MAX_ACCURACY_LOSS`` lost on its own test split); torch otherwise,
  and always on a GPU.
- ``torch``: torch everywhere.
- ``onnx-int8``: the export for every model that can have one; a model without one is an error at
  load, naming the model and the command that builds it. Never a quiet fallback to torch: a worker
  that was meant to serve int8 and silently serves fp32 is slower and measures the wrong thing.

Torch-free, so the settings and the CLI can name backends without loading a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workers.ml.int8_runtime import EXPORT_FOLDER, GRAPH_FILE, has_int8_export, read_export_info

AUTO = "auto"
TORCH = "torch"
ONNX_INT8 = "onnx-int8"
BACKENDS = (AUTO, TORCH, ONNX_INT8)
MAX_ACCURACY_LOSS = 0.005  # of accuracy on the test split (0.5 points), per the serving issue
INT8_INFO_KEY = "int8"  # in a model's metadata (``info.data``): the export's figures beside fp32's


class Int8ExportMissingError(FileNotFoundError):
    pass


def accuracy_held(int8_figures: dict[str, Any] | None) -> bool:
    return bool(int8_figures and int8_figures.get("held"))


def measured_backend(int8_figures: dict[str, Any] | None) -> str:
    """The backend a card's figures were measured on: int8 for a linear head fitted on the int8
    encoder's vectors (``training/classifier/head.py``), torch for every other model."""
    return ONNX_INT8 if int8_figures and int8_figures.get("fitted_on") == ONNX_INT8 else TORCH


def choose_backend(
    setting: str, device: str, folder: Path, name: str, int8_figures: dict[str, Any] | None
) -> str:
    """The backend that serves the model in ``folder`` on ``device`` (already resolved: cpu, cuda…)."""
    if setting not in BACKENDS:
        raise ValueError(f"unknown inference backend {setting!r}; choose one of {list(BACKENDS)}")
    on_cpu = device == "cpu"
    if setting == TORCH:
        return TORCH
    if setting == AUTO:
        return ONNX_INT8 if on_cpu and has_int8_export(folder) and accuracy_held(int8_figures) else TORCH
    if not on_cpu:
        raise ValueError(
            f"model {name!r}: QUEUEBOT_INFERENCE_BACKEND={ONNX_INT8} runs on the CPU only, but the worker's "
            f"device is {device!r}; use 'auto' or 'torch' on a GPU"
        )
    if not has_int8_export(folder):
        raise Int8ExportMissingError(
            f"model {name!r}: QUEUEBOT_INFERENCE_BACKEND={ONNX_INT8} but it has no int8 export "
            f"({folder / EXPORT_FOLDER / GRAPH_FILE} does not exist). Rebuild it with "
            "`queuebot build-models --force` (or its `queuebot train` command), or serve it with "
            "QUEUEBOT_INFERENCE_BACKEND=auto or torch."
        )
    return ONNX_INT8


def encoder_figures(export_folder: Path) -> dict[str, Any]:
    """The sentence encoder's export keeps its figures beside the graph (it has no model card)."""
    return read_export_info(export_folder)
