"""Three-way sentiment classification with a fine-tuned BERT (MiniLM) model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from workers.ml.info import ModelInfo, read_info_of_kind
from workers.ml.loading import batches, reject_single_string, require_folder

KIND = "sentiment"
# The model's id2label must be exactly this, in this order: callers and stored results rely on it.
LABELS = ("negative", "neutral", "positive")
# Texts longer than this are cut deliberately: the tail of a long text rarely flips its sentiment,
# and a bounded length keeps the cost of one job bounded.
MAX_LENGTH = 128


@dataclass(frozen=True)
class SentimentPrediction:
    label: str
    scores: dict[str, float]  # softmax probability of every label in LABELS


class SentimentClassifier:
    def __init__(
        self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, info: ModelInfo, device: str
    ) -> None:
        labels = tuple(model.config.id2label[i] for i in range(model.config.num_labels))
        if labels != LABELS:
            raise ValueError(f"sentiment model {info.name} has labels {labels}, expected {LABELS}")
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.info = info
        self.device = device

    @classmethod
    def load(cls, folder: Path, device: str) -> SentimentClassifier:
        info = read_info_of_kind(folder, KIND)
        folder = require_folder(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True)
        return cls(model, tokenizer, info, device)

    def classify(self, texts: Sequence[str], batch_size: int = 32) -> list[SentimentPrediction]:
        reject_single_string(texts)
        predictions: list[SentimentPrediction] = []
        with torch.inference_mode():
            for batch in batches(list(texts), batch_size):
                inputs = self.tokenizer(
                    list(batch), padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt"
                ).to(self.device)
                probabilities = torch.softmax(self.model(**inputs).logits.float(), dim=-1).cpu().tolist()
                for row in probabilities:
                    scores = dict(zip(LABELS, row, strict=True))
                    predictions.append(
                        SentimentPrediction(label=max(scores, key=scores.__getitem__), scores=scores)
                    )
        return predictions

    def warm_up(self) -> None:
        self.classify(["warm-up"])
