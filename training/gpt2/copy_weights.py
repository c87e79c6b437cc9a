"""The copy weights of a served GPT-2 model (``workers/ml/copy_mixture.py``), chosen on validation.

Every target token of the validation text falls in exactly one match length (the longest suffix the
source holds, or none), so the likelihood separates: each length's weight is the one that gives its own
tokens the highest likelihood, found on a grid that holds 0 (so the served model is never worse on
validation than without copying).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from transformers import PreTrainedModel

from training.gpt2.heldout import HeldOutScore, HeldOutText, first_target
from training.gpt2.loop import target_logprobs
from workers.ml.copy_mixture import CopyMixture, CopySource

log = logging.getLogger(__name__)

# Copying's share tried per match length; below 1, so that the text may always leave the source.
WEIGHT_GRID = np.round(np.linspace(0.0, 0.99, 100), 2)


@dataclass(frozen=True)
class CopyScores:
    """Every target token of a held-out text: its log-probability under the model copying is mixed
    with, the longest match before it and its copy probability after that match."""

    source: CopySource
    base_logp: np.ndarray
    lengths: np.ndarray
    copy_p: np.ndarray
    held_out: HeldOutText

    def _score(self, nll: float) -> HeldOutScore:
        return HeldOutScore(nll, len(self.copy_p), self.held_out.gpt2_tokens, self.held_out.utf8_bytes)

    @property
    def base(self) -> HeldOutScore:
        """The model without copying."""
        return self._score(float(-self.base_logp.sum()))

    def mixed(self, copy: CopyMixture) -> HeldOutScore:
        weight = np.array([0.0, *copy.weights])[self.lengths]
        return self._score(
            float(-np.log((1.0 - weight) * np.exp(self.base_logp) + weight * self.copy_p).sum())
        )


def copy_scores(
    base_logp: np.ndarray, held_out: HeldOutText, source: CopySource, max_match: int
) -> CopyScores:
    """``base_logp``: the model's log-probability of each target token of ``held_out``, in order."""
    probe = CopyMixture(source, (0.0,) * max_match)
    lengths, copy_p = [], []
    for example in held_out.examples:
        n, p = probe.target_probabilities(example.input_ids, first_target(example))
        lengths.append(n)
        copy_p.append(p)
    scores = CopyScores(source, base_logp, np.concatenate(lengths), np.concatenate(copy_p), held_out)
    if len(scores.copy_p) != len(base_logp):
        raise AssertionError("the model and the copy scored different tokens")
    return scores


def transformer_copy_scores(
    model: PreTrainedModel,
    held_out: HeldOutText,
    source: CopySource,
    max_match: int,
    batch_size: int,
    pad_id: int,
    device: str,
) -> CopyScores:
    """Copying mixed with a transformer alone (a ``replies`` model)."""
    logp = np.concatenate(target_logprobs(model, held_out.examples, batch_size, pad_id, device))
    return copy_scores(logp, held_out, source, max_match)


def choose_copy(valid: CopyScores, max_match: int) -> CopyMixture:
    """Per match length, the copy weight that gives the validation tokens after such a match the highest
    likelihood (0 for a length no validation token has)."""
    chosen = []
    base_p = np.exp(valid.base_logp)
    for n in range(1, max_match + 1):
        here = valid.lengths == n
        if not here.any():
            chosen.append(0.0)
            continue
        nll = [-np.log((1.0 - w) * base_p[here] + w * valid.copy_p[here]).sum() for w in WEIGHT_GRID]
        chosen.append(float(WEIGHT_GRID[int(np.argmin(nll))]))
    copy = CopyMixture(valid.source, tuple(chosen))
    log.info(
        "copying from the %s: weights %s by match length; validation perplexity %.2f (without %.2f)",
        valid.source.value,
        copy.weights,
        valid.mixed(copy).perplexity,
        valid.base.perplexity,
    )
    return copy
