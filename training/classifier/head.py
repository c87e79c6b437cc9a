"""Fit a linear head over the frozen MiniLM's sentence embeddings (``workers/ml/linear_head.py``).

The training texts are encoded once; a logistic regression is fitted for each regularisation strength
of a small grid, and the one with the best validation score is kept, so the test split chooses nothing.
Seconds where fine-tuning takes minutes: what ``queuebot up`` answers with first.

The head is fitted on the vectors of the encoder that serves it: on the CPU the frozen MiniLM's shared
int8 export, which ``auto`` serves a starter with and which encodes several times as fast as fp32
torch (encoding is most of a starter's build, and so of a first run's wait); on a GPU fp32 torch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from transformers import AutoModel

from training.classifier.fit import FitConfig, FitResult, check_fit_inputs
from training.classifier.labelled_data import LabelledTexts
from training.int8.export import version_folder_encoder_export
from workers.ml.embedding import SentenceEncoder, minilm_path
from workers.ml.int8_runtime import Int8Classifier, Int8SentenceEncoder
from workers.ml.linear_head import LinearHeadClassifier

log = logging.getLogger(__name__)

# Inverse regularisation strengths tried; the embeddings are unit vectors in 384 dimensions.
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)


def head_encoder(out_dir: Path, device: str) -> SentenceEncoder | Int8SentenceEncoder:
    """The encoder a head training into ``out_dir`` (``models/<name>/<folder>``) is fitted on and
    served with: the models folder's shared int8 export on the CPU (made here if missing)."""
    if device != "cpu":
        return SentenceEncoder.load(minilm_path(), device)
    return Int8SentenceEncoder.load(minilm_path(), version_folder_encoder_export(out_dir))


def fit_linear_head(
    train: LabelledTexts,
    valid: LabelledTexts,
    labels: Sequence[str],
    config: FitConfig,
    encoder: SentenceEncoder | Int8SentenceEncoder,
    seed: int,
    selection_metric: str = "accuracy",
) -> FitResult:
    """The head with the best validation ``selection_metric`` on ``encoder``'s vectors;
    ``config.balance_classes`` weighs the classes inversely to their frequency, as the fine-tune does.

    The result's model is the torch classifier (fp32 encoder and head) that is saved; a head fitted
    on int8 vectors is measured with ``measured_with``, the same head on the int8 export."""
    check_fit_inputs(train, valid, labels, selection_metric)
    # A fine-tuned head keeps a row for a label it never saw; a logistic regression has none to give.
    seen = set(train.labels)
    missing = [label for label in labels if label not in seen]
    if missing:
        raise ValueError(f"no training example for label(s) {missing}")
    started = time.perf_counter()
    features, valid_features = encoder.encode(train.texts), encoder.encode(valid.texts)
    log.info("encoded %d training and %d validation texts (%s) in %.1f s", len(train), len(valid),
             encoder.backend, time.perf_counter() - started)  # fmt: skip

    history: list[dict[str, float]] = []
    best: tuple[float, int, LogisticRegression] | None = None
    for index, strength in enumerate(C_GRID, start=1):
        fitted = LogisticRegression(
            C=strength,
            max_iter=2000,
            class_weight="balanced" if config.balance_classes else None,
            random_state=seed,
        ).fit(features, list(train.labels))
        predicted = fitted.predict(valid_features)
        scores = {
            "accuracy": round(float(accuracy_score(valid.labels, predicted)), 4),
            "macro_f1": round(
                float(f1_score(valid.labels, predicted, labels=list(labels), average="macro")), 4
            ),
        }
        history.append({"epoch": index, "C": strength, **scores})
        if best is None or scores[selection_metric] > best[0]:
            best = (scores[selection_metric], index, fitted)
    assert best is not None
    _, best_index, chosen = best
    coef, intercept = chosen.coef_, chosen.intercept_
    if len(chosen.classes_) == 2:
        # A binary fit scores the second class against the first; as two logits: 0 and that score.
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    # The head's rows in the model's label order (scikit-learn sorts its classes).
    rows = [list(chosen.classes_).index(label) for label in labels]
    weight, bias = coef[rows].astype(np.float32), intercept[rows].astype(np.float32)
    log.info("linear head: C %s chosen on validation %s", C_GRID[best_index - 1], selection_metric)
    if isinstance(encoder, SentenceEncoder):
        torch_encoder, measured_with = encoder.model, None
    else:
        torch_encoder = AutoModel.from_pretrained(minilm_path(), local_files_only=True)
        measured_with = Int8Classifier(encoder.graph, labels, encoder.dimension, (weight, bias))
    return FitResult(
        LinearHeadClassifier(torch_encoder, weight, bias, labels).eval(),
        encoder.tokenizer,
        best_index,
        len(C_GRID),
        time.perf_counter() - started,
        history,
        measured_with=measured_with,
    )
