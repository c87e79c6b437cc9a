"""Export a MiniLM classifier or encoder to ONNX and quantize its weights to int8.

The graph takes token ids and the attention mask and gives the final layer's mean-pooled states
(``pooled``) and, for a fine-tuned classifier, its ``logits``. Quantization is dynamic (weights int8
ahead of time, activations per batch at run time) and per output channel, of the MatMuls and the
embedding table: per-tensor weights moved the sentence vectors too far from fp32's
(docs/inference-backends.md).

The starters' linear heads sit on the same frozen encoder, so its export is made once per models
folder (``shared_encoder_export``) and linked into each of their version folders.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import torch

from workers.ml.embedding import mean_pool
from workers.ml.int8_runtime import (
    EXPORT_FOLDER,
    GRAPH_FILE,
    LOGITS_OUTPUT,
    POOLED_OUTPUT,
    SENTENCE_ENCODER_FOLDER,
)

log = logging.getLogger(__name__)

OPSET = 17


class _PooledGraph(torch.nn.Module):
    """What is exported: pooled states, plus logits when the model is a sequence classifier."""

    def __init__(self, model: torch.nn.Module, with_logits: bool) -> None:
        super().__init__()
        self.model = model
        self.with_logits = with_logits

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.with_logits:
            output = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            return output.logits, mean_pool(output.hidden_states[-1], attention_mask)
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return (mean_pool(hidden, attention_mask),)


def export_onnx(model: torch.nn.Module, path: Path, with_logits: bool) -> None:
    """The fp32 ONNX graph of ``model`` at ``path`` (pooled states, and logits with ``with_logits``)."""
    graph = _PooledGraph(model.cpu().eval(), with_logits)
    # Two rows of different lengths, so that neither axis is traced as a constant.
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    mask = (ids != 0).long()
    outputs = [LOGITS_OUTPUT, POOLED_OUTPUT] if with_logits else [POOLED_OUTPUT]
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    axes |= {name: {0: "batch"} for name in outputs}
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on transformers' python branches
        # The TorchScript exporter: the dynamo one needs onnxscript, which the worker does not ship.
        torch.onnx.export(
            graph,
            (ids, mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def quantize_int8(fp32: Path, int8: Path) -> None:
    """Dynamic int8 quantization of ``fp32``'s MatMul weights, per output channel, into ``int8``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantizer logs to the root logger a line per tensor it leaves alone (hundreds) and advice
    # to pre-process the graph first (not tried here; docs/inference-backends.md).
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        quantize_dynamic(
            str(fp32),
            str(int8),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Gather"],
        )
    finally:
        root.setLevel(level)


def export_int8(model: torch.nn.Module, out_folder: Path, with_logits: bool) -> float:
    """Write ``out_folder/int8/model.int8.onnx``; returns the seconds it took."""
    started = time.perf_counter()
    target = Path(out_folder) / EXPORT_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="queuebot-int8-") as scratch:
        fp32 = Path(scratch) / "model.onnx"
        export_onnx(model, fp32, with_logits)
        quantize_int8(fp32, target / GRAPH_FILE)
    seconds = time.perf_counter() - started
    log.info("int8 export in %s: %.1f s", target, seconds)
    return seconds


def shared_encoder_export(models_dir: Path, encoder_folder: Path) -> tuple[Path, float]:
    """The frozen encoder's export in ``models_dir/sentence-encoder``, made if missing; its graph and
    the seconds spent making it (0 when it was there)."""
    from transformers import AutoModel

    home = Path(models_dir) / SENTENCE_ENCODER_FOLDER
    graph = home / EXPORT_FOLDER / GRAPH_FILE
    if graph.is_file():
        return graph, 0.0
    home.mkdir(parents=True, exist_ok=True)
    # Two builds at once (starters built side by side, a test session, a background build) make it
    # once: the second waits for the first and finds the graph.
    with (home / ".export.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if graph.is_file():
            return graph, 0.0
        # Written beside, then renamed, so that a reader never sees a half-written graph.
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=home))
        try:
            seconds = export_int8(
                AutoModel.from_pretrained(encoder_folder, local_files_only=True), staging, False
            )
            shutil.rmtree(home / EXPORT_FOLDER, ignore_errors=True)  # a folder an interrupted run left
            os.replace(staging / EXPORT_FOLDER, home / EXPORT_FOLDER)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return graph, seconds


def version_folder_encoder_export(out_folder: Path) -> Path:
    """The shared encoder export's graph for a model training into ``out_folder`` (a version or
    staging folder, ``models/<name>/<folder>``), made if missing."""
    from workers.ml.embedding import minilm_path

    graph, _ = shared_encoder_export(Path(out_folder).parent.parent, minilm_path())
    return graph


def link_export(graph: Path, out_folder: Path) -> None:
    """Put ``graph`` into ``out_folder/int8/`` as a hard link where the filesystem allows (no copy)."""
    target = Path(out_folder) / EXPORT_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    destination = target / GRAPH_FILE
    destination.unlink(missing_ok=True)
    try:
        os.link(graph, destination)
    except OSError:
        shutil.copyfile(graph, destination)
