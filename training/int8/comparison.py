"""Side by side: torch fp32, torch's dynamic int8, ONNX Runtime fp32 and ONNX Runtime int8 on one
classifier and on the sentence encoder (``queuebot benchmark-backends``).

Speed: texts/s on the same texts in batches of 64, at each thread count, the candidates interleaved
within each round (the machine's speed drifts between minutes, so only figures of one round compare).
Accuracy: each candidate's labels on the classifier's own held-out test split, and their agreement with
torch fp32's; for the encoder, the cosine of each candidate's vectors to fp32's.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.int8.export import export_onnx, quantize_int8
from workers.ml.classifier import TextClassifier
from workers.ml.embedding import SentenceEncoder, minilm_path
from workers.ml.int8_runtime import Int8Classifier, Int8SentenceEncoder
from workers.ml.linear_head import LinearHeadClassifier

log = logging.getLogger(__name__)

CANDIDATES = ("torch-fp32", "torch-dynamic-int8", "onnx-fp32", "onnx-int8")


@dataclass(frozen=True)
class SpeedRow:
    subject: str  # the classifier's name or "sentence-encoder"
    candidate: str
    threads: int
    round: int
    texts_per_s: float
    vs_torch_fp32: float  # against torch fp32 in the same round


@dataclass(frozen=True)
class AccuracyRow:
    subject: str
    candidate: str
    figure: str  # what ``value`` is
    value: float
    agreement: float  # labels equal to torch fp32's (classifier) or min cosine (encoder)


def _dynamic_int8(module: torch.nn.Module) -> torch.nn.Module:
    """torch's own dynamic quantization of every Linear, per output channel (per tensor lost more)."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's note that it moves to torchao
        return quantize_dynamic(module, {torch.nn.Linear: per_channel_dynamic_qconfig})


def _onnx_graphs(model: torch.nn.Module, scratch: Path, with_logits: bool) -> dict[str, Path]:
    fp32, int8 = scratch / "fp32.onnx", scratch / "int8.onnx"
    export_onnx(model, fp32, with_logits)
    quantize_int8(fp32, int8)
    return {"onnx-fp32": fp32, "onnx-int8": int8}


def _classifiers(folder: Path, graphs: dict[str, Path], threads: int) -> dict[str, TextClassifier]:
    fp32 = TextClassifier.load(folder, "cpu", "torch")
    quantized = TextClassifier.load(folder, "cpu", "torch")
    quantized.model = _dynamic_int8(quantized.model)
    built = {"torch-fp32": fp32, "torch-dynamic-int8": quantized}
    for name, graph in graphs.items():
        built[name] = TextClassifier(
            Int8Classifier.load(folder, threads, graph),
            fp32.tokenizer,
            fp32.info,
            "cpu",
            fp32.out_of_scope.distance if fp32.out_of_scope is not None else None,
        )
    return built


def _encoders(graphs: dict[str, Path], threads: int) -> dict[str, Any]:
    fp32 = SentenceEncoder.load(minilm_path(), "cpu")
    quantized = SentenceEncoder.load(minilm_path(), "cpu")
    quantized.model = _dynamic_int8(quantized.model)
    built: dict[str, Any] = {"torch-fp32": fp32, "torch-dynamic-int8": quantized}
    for name, graph in graphs.items():
        built[name] = Int8SentenceEncoder.load(minilm_path(), graph, threads)
    return built


def _speeds(
    subject: str,
    runners: dict[str, Callable[[Sequence[str]], object]],
    texts: Sequence[str],
    threads: int,
    rounds: int,
) -> list[SpeedRow]:
    rows = []
    for run in runners.values():
        run(texts[:64])  # warm-up
    for round_number in range(1, rounds + 1):
        speeds = {}
        for name, run in runners.items():
            started = time.perf_counter()
            run(texts)
            speeds[name] = len(texts) / (time.perf_counter() - started)
            log.info(
                "%s %s, %d thread(s), round %d: %.1f texts/s",
                subject,
                name,
                threads,
                round_number,
                speeds[name],
            )
        base = speeds["torch-fp32"]
        rows += [SpeedRow(subject, name, threads, round_number, s, s / base) for name, s in speeds.items()]
    return rows


def compare_classifier(
    folder: Path, texts: Sequence[str], test_texts: Sequence[str], test_labels: Sequence[str],
    threads: Sequence[int], rounds: int,
) -> tuple[list[SpeedRow], list[AccuracyRow]]:  # fmt: skip
    subject = folder.parent.name
    speeds: list[SpeedRow] = []
    accuracy: list[AccuracyRow] = []
    with tempfile.TemporaryDirectory(prefix="queuebot-backends-") as scratch:
        source = TextClassifier.load(folder, "cpu", "torch")
        # A linear head's graph is its encoder's (the head runs in numpy), as in the product.
        linear_head = isinstance(source.model, LinearHeadClassifier)
        model = source.model.encoder if linear_head else source.model
        graphs = _onnx_graphs(model, Path(scratch), with_logits=not linear_head)
        del source
        for count in threads:
            torch.set_num_threads(count)
            candidates = _classifiers(folder, graphs, count)
            runners = {name: candidate.classify for name, candidate in candidates.items()}
            speeds += _speeds(subject, runners, texts, count, rounds)
            if count == max(threads):
                labels = {
                    name: [p.label for p in c.classify(list(test_texts))] for name, c in candidates.items()
                }
                for name, predicted in labels.items():
                    correct = np.mean([a == b for a, b in zip(predicted, test_labels, strict=True)])
                    same = np.mean([a == b for a, b in zip(predicted, labels["torch-fp32"], strict=True)])
                    accuracy.append(AccuracyRow(subject, name, "test accuracy", float(correct), float(same)))
    return speeds, accuracy


def compare_encoder(
    texts: Sequence[str], threads: Sequence[int], rounds: int
) -> tuple[list[SpeedRow], list[AccuracyRow]]:
    subject = "sentence-encoder"
    speeds: list[SpeedRow] = []
    accuracy: list[AccuracyRow] = []
    with tempfile.TemporaryDirectory(prefix="queuebot-backends-") as scratch:
        graphs = _onnx_graphs(
            SentenceEncoder.load(minilm_path(), "cpu").model, Path(scratch), with_logits=False
        )
        for count in threads:
            torch.set_num_threads(count)
            candidates = _encoders(graphs, count)
            speeds += _speeds(subject, {n: c.encode for n, c in candidates.items()}, texts, count, rounds)
            if count == max(threads):
                vectors = {name: c.encode(list(texts)) for name, c in candidates.items()}
                for name, found in vectors.items():
                    cosine = np.sum(found * vectors["torch-fp32"], axis=1)
                    accuracy.append(
                        AccuracyRow(
                            subject, name, "mean cosine to fp32", float(cosine.mean()), float(cosine.min())
                        )
                    )
    return speeds, accuracy
