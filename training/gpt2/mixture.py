"""The n-gram half of a served GPT-2 model: fitted on the model's own training sequences, its weight
chosen on validation text (never test), saved beside the weights (``workers/ml/ngram_mixture.py``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from transformers import PreTrainedModel

from training.gpt2.data import LmExample
from training.gpt2.heldout import HeldOutText, TokenScores, token_scores
from workers.ml.kneser_ney import KneserNeyLM
from workers.ml.ngram_mixture import NgramMixture

log = logging.getLogger(__name__)

# The transformer's weights tried; the likelihood is smooth in the weight, so a fine grid is exact enough.
WEIGHT_GRID = np.round(np.linspace(0.0, 1.0, 101), 2)


@dataclass(frozen=True)
class FittedMixture:
    mixture: NgramMixture
    valid: TokenScores  # the validation text the weight was chosen on

    def figures(self, scores: TokenScores, prefix: str) -> dict[str, float]:
        """The served mixture, the transformer alone and the n-gram alone on one held-out text."""
        return {
            **scores.mixed(self.mixture.weight).as_metrics(prefix),
            **scores.neural.as_metrics(f"{prefix}_transformer", counts=False),
            **scores.ngram.as_metrics(f"{prefix}_ngram", counts=False),
        }


def choose_weight(valid: TokenScores) -> float:
    """The transformer's weight that gives the validation text the highest likelihood."""
    nll = [valid.mixed(float(weight)).nll for weight in WEIGHT_GRID]
    return float(WEIGHT_GRID[int(np.argmin(nll))])


def fit_mixture(
    model: PreTrainedModel,
    train: Sequence[LmExample],
    valid: HeldOutText,
    vocab_size: int,
    order: int,
    batch_size: int,
    pad_id: int,
    device: str,
) -> FittedMixture:
    ngram = KneserNeyLM.fit((example.input_ids for example in train), vocab_size=vocab_size, order=order)
    scores = token_scores(model, ngram, valid, batch_size, pad_id, device)
    weight = choose_weight(scores)
    log.info(
        "n-gram mixture: order %d, transformer weight %.2f; validation perplexity %.1f (transformer %.1f, "
        "n-gram %.1f)",
        order,
        weight,
        scores.mixed(weight).perplexity,
        scores.neural.perplexity,
        scores.ngram.perplexity,
    )
    return FittedMixture(NgramMixture(ngram, weight), scores)
