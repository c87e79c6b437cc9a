"""A classifier in seconds: the sentence encoder frozen, a linear layer over its embeddings.

Fine-tuning MiniLM takes minutes on two CPU cores; encoding the training texts once and fitting a
logistic regression on the embeddings (mean-pooled and normalised, exactly as the knowledge base embeds)
takes seconds, and on small data it is often as good. ``queuebot up`` answers with such heads first
(the ``starter`` profile) while fine-tuned models train behind them.

The folder holds the encoder (``save_pretrained``), its tokenizer and ``linear_head.npz`` (weights,
bias, labels). :class:`LinearHeadClassifier` looks like a Hugging Face sequence classifier to
``TextClassifier``: ``config.num_labels``, ``config.id2label``, ``config.hidden_size`` and
``forward(...).logits`` (and ``.hidden_states`` when asked).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoModel, PreTrainedModel

from workers.ml.embedding import mean_pool

HEAD_FILE = "linear_head.npz"


class LinearHeadClassifier(torch.nn.Module):
    def __init__(self, encoder: PreTrainedModel, weight: np.ndarray, bias: np.ndarray, labels: Sequence[str]):
        super().__init__()
        if weight.shape != (len(labels), encoder.config.hidden_size) or bias.shape != (len(labels),):
            raise ValueError(
                f"a head of shape {weight.shape} + {bias.shape} does not map {encoder.config.hidden_size} "
                f"features to {len(labels)} labels"
            )
        self.encoder = encoder
        self.linear = torch.nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(torch.from_numpy(weight))
            self.linear.bias.copy_(torch.from_numpy(bias))
        self.labels = tuple(labels)
        self.config = SimpleNamespace(
            num_labels=len(labels), id2label=dict(enumerate(labels)), hidden_size=encoder.config.hidden_size
        )

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        output_hidden_states: bool = False,
        **_: object,
    ) -> SimpleNamespace:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        embedded = F.normalize(mean_pool(hidden, attention_mask), p=2, dim=1)
        return SimpleNamespace(
            logits=self.linear(embedded), hidden_states=(hidden,) if output_hidden_states else None
        )

    def save_pretrained(self, folder: Path) -> None:
        self.encoder.save_pretrained(folder)
        np.savez(
            Path(folder) / HEAD_FILE,
            weight=self.linear.weight.detach().cpu().numpy(),
            bias=self.linear.bias.detach().cpu().numpy(),
            labels=np.array(self.labels),
        )

    @classmethod
    def load(cls, folder: Path) -> LinearHeadClassifier:
        with np.load(Path(folder) / HEAD_FILE) as head:
            weight, bias, labels = head["weight"], head["bias"], [str(label) for label in head["labels"]]
        return cls(AutoModel.from_pretrained(folder, local_files_only=True), weight, bias, labels)


def has_linear_head(folder: Path) -> bool:
    return (Path(folder) / HEAD_FILE).is_file()
