"""Held-out text scored so that models with different vocabularies can be compared.

A perplexity per token depends on what a token is: a model with an 8,192-token BPE spreads the same
text over more tokens than GPT-2's 50,257-token one, each easier to predict. So every held-out figure
here is the total negative log-likelihood of the text divided by the number of GPT-2 tokens of that
same text (OpenAI's tokenizer, whatever the model uses), with bits per UTF-8 byte beside it.

Every predicted token counts once: a document is scored as ``<|endoftext|>`` + its tokens +
``<|endoftext|>`` in windows of the context length that overlap by one token, so each token after the
opening marker is predicted exactly once, from up to a context's worth of the tokens before it. The
closing marker is predicted too (the model must know where a text ends) and counts as one GPT-2
token. Bits per byte divide the same total by the documents' UTF-8 bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.gpt2.data import IGNORE_INDEX, LmExample
from training.gpt2.loop import target_logprobs, total_loss
from training.gpt2.tokenizer import gpt2_token_count
from workers.ml.kneser_ney import KneserNeyLM


@dataclass(frozen=True)
class HeldOutText:
    """Examples whose targets cover exactly ``text`` (plus one end marker per piece of it)."""

    examples: list[LmExample]
    gpt2_tokens: int  # GPT-2 tokens of the scored text, end markers included
    utf8_bytes: int

    @property
    def model_tokens(self) -> int:
        return sum(sum(label != IGNORE_INDEX for label in example.labels[1:]) for example in self.examples)


@dataclass(frozen=True)
class HeldOutScore:
    nll: float  # nats, summed over every predicted token
    model_tokens: int
    gpt2_tokens: int
    utf8_bytes: int

    @property
    def perplexity(self) -> float:
        """Per GPT-2 token of the text: comparable across vocabularies."""
        return math.exp(min(self.nll / self.gpt2_tokens, 50.0))

    @property
    def bits_per_byte(self) -> float:
        return self.nll / math.log(2) / self.utf8_bytes

    def as_metrics(self, prefix: str, counts: bool = True) -> dict[str, float]:
        """``counts=False`` for a baseline: the token counts are those of the model's score beside it."""
        figures: dict[str, float] = {
            f"{prefix}_perplexity": round(self.perplexity, 2),
            f"{prefix}_bits_per_byte": round(self.bits_per_byte, 4),
        }
        if counts:
            figures |= {
                f"{prefix}_gpt2_tokens": self.gpt2_tokens,
                f"{prefix}_model_tokens": self.model_tokens,
            }
        return figures


def document_windows(
    tokenizer: PreTrainedTokenizerBase, documents: Sequence[str], window: int
) -> HeldOutText:
    """Each document as windows that predict each of its tokens once (see the module docstring)."""
    if window < 2:
        raise ValueError(f"a window needs at least 2 tokens, got {window}")
    eos = int(tokenizer.eos_token_id)
    examples = []
    for ids in tokenizer(list(documents), verbose=False)["input_ids"]:
        stream = [eos, *ids, eos]
        for start in range(0, len(stream) - 1, window - 1):
            piece = stream[start : start + window]
            examples.append(LmExample(piece, piece))
    return HeldOutText(
        examples,
        gpt2_tokens=gpt2_token_count(documents) + len(documents),
        utf8_bytes=sum(len(document.encode("utf-8")) for document in documents),
    )


def targets_text(tokenizer: PreTrainedTokenizerBase, examples: Sequence[LmExample]) -> HeldOutText:
    """Examples scored on their own targets (a reply after its prompt), counted in GPT-2 tokens of
    the text those targets spell: decoding is exact, so a reply cut at its token budget counts only
    what was kept. An end marker among the targets counts as one token and no bytes."""
    eos = int(tokenizer.eos_token_id)
    texts, markers = [], 0
    for example in examples:
        ids = example.labels[first_target(example) :]
        markers += sum(token == eos for token in ids)
        texts.append(tokenizer.decode([t for t in ids if t != eos], clean_up_tokenization_spaces=False))
    return HeldOutText(
        list(examples),
        gpt2_tokens=gpt2_token_count(texts) + markers,
        utf8_bytes=sum(len(text.encode("utf-8")) for text in texts),
    )


def score(
    model: PreTrainedModel, held_out: HeldOutText, batch_size: int, pad_id: int, device: str
) -> HeldOutScore:
    nll, count = total_loss(model, held_out.examples, batch_size, pad_id, device)
    return HeldOutScore(nll, count, held_out.gpt2_tokens, held_out.utf8_bytes)


@dataclass(frozen=True)
class TokenScores:
    """Every target token of a held-out text as two models see it: the transformer's log-probability
    and the n-gram's probability, so that any interpolation of the two can be scored."""

    neural_logp: np.ndarray
    ngram_p: np.ndarray
    held_out: HeldOutText

    def _score(self, nll: float) -> HeldOutScore:
        return HeldOutScore(nll, len(self.ngram_p), self.held_out.gpt2_tokens, self.held_out.utf8_bytes)

    @property
    def neural(self) -> HeldOutScore:
        return self._score(float(-self.neural_logp.sum()))

    @property
    def ngram(self) -> HeldOutScore:
        return self._score(float(-np.log(self.ngram_p).sum()))

    def mixed(self, weight: float) -> HeldOutScore:
        """``weight`` on the transformer, the rest on the n-gram."""
        return self._score(float(-self.mixed_logp(weight).sum()))

    def mixed_logp(self, weight: float) -> np.ndarray:
        """Each token's log-probability under the interpolation."""
        return np.log(weight * np.exp(self.neural_logp) + (1 - weight) * self.ngram_p)


def token_scores(
    model: PreTrainedModel,
    ngram: KneserNeyLM,
    held_out: HeldOutText,
    batch_size: int,
    pad_id: int,
    device: str,
) -> TokenScores:
    neural = target_logprobs(model, held_out.examples, batch_size, pad_id, device)
    ngram_p = []
    for example, logp in zip(held_out.examples, neural, strict=True):
        # The n-gram predicts every token after the first; the targets are a suffix of them.
        probabilities = ngram.token_probabilities([example.input_ids])[first_target(example) - 1 :]
        if len(probabilities) != len(logp):
            raise AssertionError("the two models scored different tokens")
        ngram_p.append(probabilities)
    return TokenScores(np.concatenate(neural), np.concatenate(ngram_p), held_out)


def ngram_baseline(
    train: Sequence[LmExample], held_out: HeldOutText, vocab_size: int, order: int = 3
) -> HeldOutScore:
    """A Kneser-Ney n-gram fitted on the model's training sequences, scored on the same held-out targets.

    Targets are a suffix of each example (the reply after its prompt, or all but a window's first
    token), so an example's score is that of the whole sequence minus that of its prompt: the n-gram
    is causal, and the prompt's own tokens score alike in both.
    """
    lm = KneserNeyLM.fit((example.input_ids for example in train), vocab_size=vocab_size, order=order)
    whole, prompts = [], []
    for example in held_out.examples:
        first = first_target(example)
        whole.append(example.input_ids)
        prompts.append(example.input_ids[:first])
    full, prompt = lm.score(whole), lm.score(prompts)
    return HeldOutScore(
        full.total_nll - prompt.total_nll,
        full.tokens - prompt.tokens,
        held_out.gpt2_tokens,
        held_out.utf8_bytes,
    )


def first_target(example: LmExample) -> int:
    targets = [t for t in range(1, len(example.labels)) if example.labels[t] != IGNORE_INDEX]
    if not targets or targets != list(range(targets[0], len(example.labels))):
        raise ValueError("an example's targets must be a non-empty suffix of it")
    return targets[0]
