"""Text classification with a fine-tuned BERT (MiniLM) sequence classifier, or with a linear head over
the frozen encoder's sentence embeddings (``linear_head.py``, what a first run answers with).

One class serves every classifier the workers run (sentiment, intent). An intent model trained with
out-of-scope detection carries its rule in its metadata (``info.data["out_of_scope"]``): the
explicit out-of-scope class wins, and so does any prediction whose top in-scope probability is below
the threshold calibrated on validation data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from workers.ml.info import ModelInfo, read_info
from workers.ml.linear_head import LinearHeadClassifier, has_linear_head
from workers.ml.loading import reject_single_string, require_folder

CLASSIFIER_KINDS = ("sentiment", "intent")
# The tail of a long text rarely changes its class, and a bounded length bounds the cost of a job.
MAX_LENGTH = 128
INFERENCE_BATCH = 64


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float  # probability of the top class the model itself predicted
    scores: dict[str, float]  # softmax probability of every label, in model order


@dataclass(frozen=True)
class OutOfScopeRule:
    label: str
    threshold: float

    @classmethod
    def from_info(cls, info: ModelInfo) -> OutOfScopeRule | None:
        rule = info.data.get("out_of_scope")
        if rule is None:
            return None
        if not isinstance(rule, dict) or set(rule) != {"label", "threshold"}:
            raise ValueError(f"model {info.name}: out_of_scope must be {{label, threshold}}, got {rule!r}")
        return cls(label=str(rule["label"]), threshold=float(rule["threshold"]))


class TextClassifier:
    def __init__(
        self,
        model: PreTrainedModel | LinearHeadClassifier,
        tokenizer: PreTrainedTokenizerBase,
        info: ModelInfo,
        device: str,
    ) -> None:
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.info = info
        self.device = device
        self.labels = tuple(model.config.id2label[i] for i in range(model.config.num_labels))
        self.out_of_scope = OutOfScopeRule.from_info(info)
        if self.out_of_scope is not None and self.out_of_scope.label not in self.labels:
            raise ValueError(
                f"model {info.name}: out-of-scope label {self.out_of_scope.label!r} is not a class"
            )

    @classmethod
    def load(cls, folder: Path, device: str) -> TextClassifier:
        info = read_info(folder)
        if info.kind not in CLASSIFIER_KINDS:
            raise ValueError(f"model in {folder} is a {info.kind!r} model, not a classifier")
        folder = require_folder(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = (
            LinearHeadClassifier.load(folder)
            if has_linear_head(folder)
            else AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True)
        )
        return cls(model, tokenizer, info, device)

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        reject_single_string(texts)
        probabilities = self.probabilities_of(self.model, self.tokenizer, list(texts), self.device)
        return [self._decide(row) for row in probabilities]

    def warm_up(self) -> None:
        self.classify(["warm-up"])

    def _decide(self, row: np.ndarray) -> Prediction:
        scores = {label: float(p) for label, p in zip(self.labels, row, strict=True)}
        top = int(row.argmax())
        label = self.labels[top]
        rule = self.out_of_scope
        if rule is not None and label != rule.label and row[top] < rule.threshold:
            label = rule.label
        return Prediction(label=label, confidence=float(row[top]), scores=scores)

    @staticmethod
    def probabilities_of(
        model: PreTrainedModel | LinearHeadClassifier,
        tokenizer: PreTrainedTokenizerBase,
        texts: Sequence[str],
        device: str,
        batch_size: int = INFERENCE_BATCH,
    ) -> np.ndarray:
        """Softmax probabilities, shape (len(texts), labels), in the order of ``texts``.

        Texts are run in length order so each forward pass pads little; rows are put back afterwards.
        """
        out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
        if not texts:
            return out
        encoded = tokenizer(list(texts), truncation=True, max_length=MAX_LENGTH)["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                inputs = tokenizer.pad({"input_ids": [encoded[i] for i in rows]}, return_tensors="pt").to(
                    device
                )
                logits = model(**inputs).logits.float()
                out[rows] = torch.softmax(logits, dim=-1).cpu().numpy()
        return out
