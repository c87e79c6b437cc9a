"""A served GPT-2 model interpolated with a Kneser-Ney n-gram fitted on the same training tokens.

``P(next) = w · P_transformer(next | context) + (1 − w) · P_n-gram(next | last n − 1 tokens)``

A transformer small enough to train in minutes on a CPU predicts held-out text worse than an n-gram
counted from the same text in a second; the two err differently (exact local counts against longer
context), so their mixture beats both, as in the classic neural-plus-Kneser-Ney language models
(Mikolov et al. 2011). The weight ``w`` is chosen on validation text when the model is trained and
travels with it: ``ngram.npz`` beside the weights, the order and weight in ``queuebot.json``. A model
folder without them (any Hugging Face checkpoint) is served as the transformer alone.

Sampling applies temperature and top-p to the mixture's log-probabilities, so the decoding controls
mean what they mean for any language model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import LogitsProcessor

from workers.ml.kneser_ney import KneserNeyLM

NGRAM_FILE = "ngram.npz"
INFO_KEY = "ngram_mixture"  # in ModelInfo.data: {"order", "weight", "file"}


@dataclass(frozen=True)
class NgramMixture:
    ngram: KneserNeyLM
    weight: float  # the transformer's share of the probability

    def __post_init__(self) -> None:
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"the transformer's weight must be in [0, 1], got {self.weight}")

    def log_probs(self, logits: torch.Tensor, histories: Sequence[Sequence[int]]) -> torch.Tensor:
        """Log P(next) under the mixture, one row per history (the tokens so far, prompt included)."""
        if logits.shape[-1] != self.ngram.vocab_size:
            raise ValueError(
                f"the transformer scores {logits.shape[-1]} tokens, the n-gram {self.ngram.vocab_size}"
            )
        neural = torch.softmax(logits.float(), dim=-1)
        ngram = torch.from_numpy(self.ngram.next_token_probabilities(histories)).to(neural)
        return torch.log(self.weight * neural + (1.0 - self.weight) * ngram)

    def to_data(self) -> dict[str, object]:
        return {"order": self.ngram.order, "weight": round(self.weight, 4), "file": NGRAM_FILE}

    def save(self, folder: Path) -> None:
        self.ngram.save(Path(folder) / NGRAM_FILE)

    @classmethod
    def load(cls, folder: Path, data: Mapping[str, object]) -> NgramMixture | None:
        """The mixture a model folder records, or None for a transformer served alone."""
        entry = data.get(INFO_KEY)
        if entry is None:
            return None
        if not isinstance(entry, Mapping) or not isinstance(entry.get("weight"), int | float):
            raise ValueError(f"the model's info has a malformed {INFO_KEY!r} entry: {entry!r}")
        path = Path(folder) / str(entry.get("file", NGRAM_FILE))
        if not path.is_file():
            raise FileNotFoundError(f"the model's info names an n-gram at {path}, which does not exist")
        return cls(KneserNeyLM.load(path), float(entry["weight"]))


class MixtureLogitsProcessor(LogitsProcessor):
    """The mixture as a Hugging Face ``generate`` step; put it before any temperature or top-p warper."""

    def __init__(self, mixture: NgramMixture) -> None:
        self.mixture = mixture

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        return self.mixture.log_probs(scores, input_ids.tolist()).to(scores.dtype)
