"""Build a model's int8 export and score it on the same held-out rows as fp32, for its card.

A classifier's figure is accuracy on its own test split, beside fp32's; ``held`` says whether int8
lost at most ``MAX_ACCURACY_LOSS`` of it, which is what ``auto`` serves int8 on. The sentence encoder
has no labels: its figure is how close its vectors stay to fp32's (cosine) and how often a query finds
the same nearest text among others embedded in fp32, as the knowledge base's stored vectors are.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.int8.export import (
    export_int8,
    link_export,
    shared_encoder_export,
    version_folder_encoder_export,
)
from workers.ml.backends import MAX_ACCURACY_LOSS, ONNX_INT8
from workers.ml.int8_runtime import EXPORT_FOLDER, EXPORT_INFO_FILE, SENTENCE_ENCODER_FOLDER, Int8Classifier

log = logging.getLogger(__name__)

# The encoder's export serves when its vectors stay this close to fp32's on average (cosine).
MIN_ENCODER_COSINE = 0.99
# A starter's export is made (the shared encoder's, linked) but not scored: scoring runs its whole test
# split through the encoder again, which a first run waits for (docs/inference-backends.md). Unscored,
# `auto` serves it in torch; the quick model that replaces it minutes later is scored.
UNSCORED_PROFILES = ("starter",)


def export_and_score_classifier(
    classifier: Any,
    fitted_model: Any,
    out_dir: Path,
    texts: Sequence[str],
    gold: Sequence[str],
    fp32_predicted: Sequence[str],
    fp32_accuracy: float,
    scored: bool = True,
) -> dict[str, Any]:
    """Export the classifier saved in ``out_dir`` and score it on ``texts``; the figures for its card.

    ``classifier`` is the fp32 ``TextClassifier`` (its tokenizer, rule and calibration are reused, so
    only the backend differs). Without ``scored`` the export is made but its accuracy is unknown, so
    ``held`` is False."""
    from workers.ml.classifier import TextClassifier
    from workers.ml.linear_head import has_linear_head

    started = time.perf_counter()
    if has_linear_head(out_dir):
        link_export(version_folder_encoder_export(out_dir), out_dir)
    else:
        export_int8(fitted_model, out_dir, with_logits=True)
    export_seconds = time.perf_counter() - started
    if not scored:
        return {
            "backend": ONNX_INT8,
            "scored": False,
            "held": False,
            "export_seconds": round(export_seconds, 1),
        }
    started = time.perf_counter()
    int8 = TextClassifier(
        Int8Classifier.load(out_dir),
        classifier.tokenizer,
        classifier.info,
        "cpu",
        classifier.out_of_scope.distance if classifier.out_of_scope is not None else None,
    )
    predicted = [p.label for p in int8.classify(list(texts))]
    accuracy = float(np.mean([a == b for a, b in zip(predicted, gold, strict=True)])) if gold else 0.0
    figures = {
        "backend": ONNX_INT8,
        "scored": True,
        "test_accuracy": round(accuracy, 4),
        "fp32_test_accuracy": round(fp32_accuracy, 4),
        "accuracy_lost": round(fp32_accuracy - accuracy, 4),
        "agreement_with_fp32": round(
            float(np.mean([a == b for a, b in zip(predicted, fp32_predicted, strict=True)])), 4
        ),
        "test_rows": len(gold),
        "held": bool(fp32_accuracy - accuracy <= MAX_ACCURACY_LOSS),
        "export_seconds": round(export_seconds, 1),
        "scoring_seconds": round(time.perf_counter() - started, 1),
    }
    log.info("%s int8: %s", classifier.info.name, figures)
    return figures


def link_head_fitted_on_int8(out_dir: Path, test_accuracy: float, test_rows: int) -> dict[str, Any]:
    """The card's figures for a linear head fitted on the int8 encoder's vectors
    (``training/classifier/head.py``): its test figures are int8's already, so the shared export is
    linked and nothing is scored twice. fp32 torch (``QUEUEBOT_INFERENCE_BACKEND=torch``, a GPU) serves
    the same head on vectors within cosine 0.99 of these, unscored."""
    started = time.perf_counter()
    link_export(version_folder_encoder_export(out_dir), out_dir)
    return {
        "backend": ONNX_INT8,
        "fitted_on": ONNX_INT8,
        "scored": True,
        "held": True,
        "test_accuracy": round(test_accuracy, 4),
        "test_rows": test_rows,
        "export_seconds": round(time.perf_counter() - started, 1),
    }


def export_and_score_encoder(models_dir: Path, texts: Sequence[str], corpus: Sequence[str]) -> dict[str, Any]:
    """The sentence encoder's shared export (made if missing) scored on ``texts`` as queries against
    ``corpus`` embedded in fp32; written beside the graph as ``export.json``."""
    from workers.ml.embedding import SentenceEncoder, minilm_path
    from workers.ml.int8_runtime import Int8SentenceEncoder

    home = Path(models_dir) / SENTENCE_ENCODER_FOLDER
    info_path = home / EXPORT_FOLDER / EXPORT_INFO_FILE
    if info_path.is_file():
        return json.loads(info_path.read_text(encoding="utf-8"))
    graph, export_seconds = shared_encoder_export(models_dir, minilm_path())
    started = time.perf_counter()
    fp32 = SentenceEncoder.load(minilm_path(), "cpu")
    int8 = Int8SentenceEncoder.load(minilm_path(), graph)
    exact, approximate = fp32.encode(texts), int8.encode(texts)
    cosine = np.sum(exact * approximate, axis=1)
    stored = fp32.encode(corpus)
    same_nearest = np.argmax(exact @ stored.T, axis=1) == np.argmax(approximate @ stored.T, axis=1)
    figures = {
        "backend": ONNX_INT8,
        "source": str(minilm_path()),
        "rows": len(texts),
        "corpus_rows": len(corpus),
        "mean_cosine_to_fp32": round(float(cosine.mean()), 4),
        "min_cosine_to_fp32": round(float(cosine.min()), 4),
        "same_nearest_neighbour": round(float(same_nearest.mean()), 4),
        "held": bool(cosine.mean() >= MIN_ENCODER_COSINE),
        "export_seconds": round(export_seconds, 1),
        "scoring_seconds": round(time.perf_counter() - started, 1),
    }
    info_path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    log.info("sentence encoder int8: %s", figures)
    return figures
