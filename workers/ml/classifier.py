"""Text classification with a fine-tuned BERT (MiniLM) sequence classifier, or with a linear head over
the frozen encoder's sentence embeddings (``linear_head.py``, what a first run answers with).

One class serves every classifier the workers run (sentiment, intent). An intent model trained with
out-of-scope detection also applies its rule (``out_of_scope.py``).
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

from workers.ml.calibration import scale, temperature_of, threshold_of
from workers.ml.embedding import mean_pool
from workers.ml.info import ModelInfo, read_info
from workers.ml.int8_runtime import Int8Classifier
from workers.ml.linear_head import LinearHeadClassifier, has_linear_head
from workers.ml.loading import length_ordered_batches, reject_single_string, require_folder
from workers.ml.out_of_scope import DISTANCE_FILE, MahalanobisDistance, OutOfScopeRule

CLASSIFIER_KINDS = ("sentiment", "intent", "topic")
# The tail of a long text rarely changes its class, and a bounded length bounds the cost of a job.
MAX_LENGTH = 128
INFERENCE_BATCH = 64


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float  # probability of the top class the model itself predicted
    scores: dict[str, float]  # softmax probability of every label, in model order


class TextClassifier:
    def __init__(
        self,
        model: PreTrainedModel | LinearHeadClassifier | Int8Classifier,
        tokenizer: PreTrainedTokenizerBase,
        info: ModelInfo,
        device: str,
        distance: MahalanobisDistance | None = None,
    ) -> None:
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.info = info
        self.device = device
        self.labels = tuple(model.config.id2label[i] for i in range(model.config.num_labels))
        self.out_of_scope = OutOfScopeRule.from_info(info, distance)
        # A calibrated model's confidences are temperature-scaled, so that its threshold means what
        # it meant on validation (``workers/ml/calibration.py``).
        self.temperature = temperature_of(info.data)
        self.min_confidence = threshold_of(info.data)
        if self.out_of_scope is not None and self.out_of_scope.label not in self.labels:
            raise ValueError(
                f"model {info.name}: out-of-scope label {self.out_of_scope.label!r} is not a class"
            )

    @property
    def backend(self) -> str:
        return getattr(self.model, "backend", "torch")

    @classmethod
    def load(cls, folder: Path, device: str, backend: str = "torch", threads: int = 0) -> TextClassifier:
        """``backend`` is resolved already (``workers/ml/backends.py``): "torch" or "onnx-int8"."""
        info = read_info(folder)
        if info.kind not in CLASSIFIER_KINDS:
            raise ValueError(f"model in {folder} is a {info.kind!r} model, not a classifier")
        folder = require_folder(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model: PreTrainedModel | LinearHeadClassifier | Int8Classifier
        if backend == "onnx-int8":
            # The export only: loading the torch weights as well would hold the model twice.
            model = Int8Classifier.load(folder, threads)
        elif backend != "torch":
            raise ValueError(f"unknown classifier backend {backend!r}")
        elif has_linear_head(folder):
            model = LinearHeadClassifier.load(folder)
        else:
            model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True)
        distance = MahalanobisDistance.load(folder) if (folder / DISTANCE_FILE).is_file() else None
        return cls(model, tokenizer, info, device, distance)

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        reject_single_string(texts)
        rule = self.out_of_scope
        probabilities, features = self.outputs_of(
            self.model,
            self.tokenizer,
            list(texts),
            self.device,
            features=rule is not None and rule.needs_features,
        )
        probabilities = scale(probabilities, self.temperature)
        outside = rule.outside(probabilities, features) if rule else np.zeros(len(texts), dtype=bool)
        return [self._decide(row, out) for row, out in zip(probabilities, outside, strict=True)]

    def warm_up(self) -> None:
        self.classify(["warm-up"])

    def _decide(self, row: np.ndarray, outside: bool) -> Prediction:
        scores = {label: float(p) for label, p in zip(self.labels, row, strict=True)}
        top = int(row.argmax())
        label = self.labels[top]
        if outside and self.out_of_scope is not None:
            label = self.out_of_scope.label
        return Prediction(label=label, confidence=float(row[top]), scores=scores)

    @classmethod
    def probabilities_of(
        cls,
        model: PreTrainedModel | LinearHeadClassifier | Int8Classifier,
        tokenizer: PreTrainedTokenizerBase,
        texts: Sequence[str],
        device: str,
        batch_size: int = INFERENCE_BATCH,
    ) -> np.ndarray:
        """Softmax probabilities, shape (len(texts), labels), in the order of ``texts``."""
        return cls.outputs_of(model, tokenizer, texts, device, batch_size=batch_size)[0]

    @staticmethod
    def outputs_of(
        model: PreTrainedModel | LinearHeadClassifier | Int8Classifier,
        tokenizer: PreTrainedTokenizerBase,
        texts: Sequence[str],
        device: str,
        features: bool = False,
        batch_size: int = INFERENCE_BATCH,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Softmax probabilities, shape (len(texts), labels), and with ``features`` the final layer's
        mean-pooled states, shape (len(texts), hidden), both in the order of ``texts``.

        Texts are run in length order so each forward pass pads little; rows are put back afterwards.
        """
        if isinstance(model, Int8Classifier):
            return model.outputs_of(tokenizer, texts, features, batch_size, MAX_LENGTH)
        probabilities = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
        pooled = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32) if features else None
        if not texts:
            return probabilities, pooled
        with torch.inference_mode():
            for rows, ids in length_ordered_batches(tokenizer, texts, MAX_LENGTH, batch_size):
                inputs = tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(device)
                output = model(**inputs, output_hidden_states=features)
                probabilities[rows] = torch.softmax(output.logits.float(), dim=-1).cpu().numpy()
                if pooled is not None:
                    states = mean_pool(output.hidden_states[-1].float(), inputs["attention_mask"])
                    pooled[rows] = states.cpu().numpy()
        return probabilities, pooled
