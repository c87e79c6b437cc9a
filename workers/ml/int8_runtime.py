"""Serving a classifier or the sentence encoder from its int8 ONNX export, under ONNX Runtime.

The export (``training/int8/export.py``) is one graph from token ids to the final layer's mean-pooled
states (and, for a fine-tuned classifier, its logits), with the weights of every MatMul and of the
embedding table quantized to int8 per output channel, and the activations per batch at run time
(dynamic quantization). A linear
head over the frozen encoder is applied here, in numpy, from ``linear_head.npz``: its encoder is the
same frozen MiniLM for every starter, so they share one export.

Nothing here imports torch: a worker serving from exports holds the int8 weights only, not a torch copy
of the same model.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from workers.ml.loading import length_ordered_batches, reject_single_string

EXPORT_FOLDER = "int8"  # inside a model's version folder
GRAPH_FILE = "model.int8.onnx"
EXPORT_INFO_FILE = "export.json"  # what the export holds and how well it did, beside the graph
# Where the frozen encoder's export lives, once per models folder: the knowledge base's sentence
# encoder and every linear-head starter use it. Not a model (no versions), so `models list` skips it.
SENTENCE_ENCODER_FOLDER = "sentence-encoder"
POOLED_OUTPUT = "pooled"
LOGITS_OUTPUT = "logits"
# A batch's padded size (rows × longest row) at most: with the memory arena off, batches of 64
# 128-token news articles ran at under half the speed of batches of 4 (docs/inference-backends.md).
BATCH_TOKENS = 512


def export_graph(folder: Path) -> Path:
    return Path(folder) / EXPORT_FOLDER / GRAPH_FILE


def has_int8_export(folder: Path) -> bool:
    return export_graph(folder).is_file()


def read_export_info(folder: Path) -> dict[str, Any]:
    path = Path(folder) / EXPORT_FOLDER / EXPORT_INFO_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


_SESSIONS: dict[tuple[int, int, int, int], Any] = {}
_SESSIONS_GUARD = threading.Lock()


def open_session(graph: Path, threads: int = 0) -> Any:
    """An ONNX Runtime session on the CPU. ``threads`` 0: the runtime's default, one per core.

    One session per graph file in the process: every starter's export is a hard link to the same
    frozen encoder's (as is the knowledge base encoder's), so they share its weights instead of
    holding one copy each (``run`` is safe from several threads). A graph written anew is a new file
    (a new inode), so a rebuilt model never gets a stale session."""
    import onnxruntime as ort

    stat = Path(graph).stat()
    key = (stat.st_dev, stat.st_ino, stat.st_mtime_ns, threads)
    with _SESSIONS_GUARD:
        if key not in _SESSIONS:
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # The arena keeps the largest batch's activations for good: memory that the worker's
            # budget (1 GB with every model) cannot spare. What it costs in speed is not measured yet.
            options.enable_cpu_mem_arena = False
            _SESSIONS[key] = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        return _SESSIONS[key]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def normalise(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


class Int8Graph:
    """One export: token ids in, pooled states (and logits, when the graph has them) out."""

    def __init__(self, graph: Path, threads: int = 0) -> None:
        self.path = Path(graph)
        self.session = open_session(self.path, threads)
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.outputs = [o.name for o in self.session.get_outputs()]

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, np.ndarray]:
        feeds = {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)}
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.zeros_like(feeds["input_ids"])
        return dict(zip(self.outputs, self.session.run(self.outputs, feeds), strict=True))


def int8_batches(
    tokenizer: Any, texts: Sequence[str], max_length: int, batch_size: int
) -> Iterator[tuple[list[int], list[list[int]]]]:
    """Batches for the runtime: at most ``batch_size`` rows and ``BATCH_TOKENS`` padded tokens."""
    return length_ordered_batches(tokenizer, texts, max_length, batch_size, max_tokens=BATCH_TOKENS)


def padded(tokenizer: Any, ids: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    batch = tokenizer.pad({"input_ids": list(ids)}, return_tensors="np")
    return np.asarray(batch["input_ids"]), np.asarray(batch["attention_mask"])


class Int8Classifier:
    """Looks like the torch classifier to ``TextClassifier`` (``config``, ``to``, ``eval``), and
    computes its outputs itself (``outputs_of``)."""

    backend = "onnx-int8"

    def __init__(
        self,
        graph: Int8Graph,
        labels: Sequence[str],
        hidden_size: int,
        head: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.graph = graph
        self.head = head  # (weight, bias) of a linear head over normalised pooled states
        self.config = SimpleNamespace(
            num_labels=len(labels), id2label=dict(enumerate(labels)), hidden_size=hidden_size
        )
        if head is None and LOGITS_OUTPUT not in graph.outputs:
            raise ValueError(f"{graph.path} has no logits and the model no linear head")

    @classmethod
    def load(cls, folder: Path, threads: int = 0, graph_file: Path | None = None) -> Int8Classifier:
        """The classifier in ``folder`` from its export (or from ``graph_file``, another graph of it:
        the backend comparison runs its fp32 ONNX graph too)."""
        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        graph = Int8Graph(graph_file or export_graph(folder), threads)
        head_file = folder / "linear_head.npz"
        if head_file.is_file():
            with np.load(head_file) as saved:
                head = (saved["weight"].astype(np.float32), saved["bias"].astype(np.float32))
                labels = [str(label) for label in saved["labels"]]
        else:
            head = None
            id2label = config["id2label"]
            labels = [id2label[str(i)] for i in range(len(id2label))]
        return cls(graph, labels, int(config["hidden_size"]), head)

    def to(self, device: str) -> Int8Classifier:
        if device != "cpu":
            raise ValueError(f"the onnx-int8 backend runs on the CPU only, not {device!r}")
        return self

    def eval(self) -> Int8Classifier:
        return self

    def outputs_of(
        self, tokenizer: Any, texts: Sequence[str], features: bool, batch_size: int, max_length: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """As ``TextClassifier.outputs_of``: probabilities and (with ``features``) pooled states."""
        probabilities = np.zeros((len(texts), self.config.num_labels), dtype=np.float32)
        pooled = np.zeros((len(texts), self.config.hidden_size), dtype=np.float32) if features else None
        if not texts:
            return probabilities, pooled
        for rows, ids in int8_batches(tokenizer, texts, max_length, batch_size):
            out = self.graph.run(*padded(tokenizer, ids))
            if self.head is None:
                logits = out[LOGITS_OUTPUT]
            else:
                weight, bias = self.head
                logits = normalise(out[POOLED_OUTPUT]) @ weight.T + bias
            probabilities[rows] = softmax(logits.astype(np.float32))
            if pooled is not None:
                pooled[rows] = out[POOLED_OUTPUT]
        return probabilities, pooled


class Int8SentenceEncoder:
    """``SentenceEncoder`` from an export: the same vectors (mean-pooled, unit length), int8 weights."""

    backend = "onnx-int8"

    def __init__(self, graph: Int8Graph, tokenizer: Any, dimension: int, max_length: int) -> None:
        self.graph = graph
        self.tokenizer = tokenizer
        self.dimension = dimension
        self.max_length = max_length

    @classmethod
    def load(cls, folder: Path, graph: Path, threads: int = 0, max_length: int = 128) -> Int8SentenceEncoder:
        """The encoder whose tokenizer and config are in ``folder``, its int8 weights in ``graph``."""
        from transformers import AutoTokenizer

        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        return cls(Int8Graph(graph, threads), tokenizer, int(config["hidden_size"]), max_length)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        reject_single_string(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for rows, ids in int8_batches(self.tokenizer, texts, self.max_length, batch_size):
            out[rows] = normalise(self.graph.run(*padded(self.tokenizer, ids))[POOLED_OUTPUT])
        return out
