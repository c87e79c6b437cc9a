"""Batched sampling from a GPT-2 language model with per-row settings, on its forward pass for decoding.

Hugging Face's ``generate`` applies one temperature, top-p and length to a whole batch and draws from one
random stream, so requests with different settings (or seeds) cannot share a decode there. This loop
runs any mix of requests as one batch:

- prompts are left-padded; the attention mask hides the padding and position ids count only real
  tokens, so each row sees exactly what it would see alone;
- a KV cache means each step feeds one new token per row, through GPT-2's forward pass written for
  decoding (workers/ml/gpt2_forward.py);
- temperature, top-p and the token budget are per row (temperature 0 is greedy for that row);
- each request samples from its own ``torch.Generator`` with one uniform draw per live row per step, so a
  seeded request produces the same text whatever else shares the batch (up to float rounding, which can
  differ between batch shapes and only matters at exact ties);
- a row stops at end-of-text or at its own ``max_new_tokens``; finished rows are removed from the batch
  (and the cache), and the loop ends when no row is left;
- a model served with an n-gram (``ngram_mixture``) samples from the mixture, each row with its own
  tokens as the n-gram's context; a model served with copying (``copy_mixture``) mixes in what
  followed the row's last tokens earlier in its own prompt (or text so far);
- ``no_repeat_ngram_size`` and ``repetition_penalty`` (``phrase_loops``) are per row too, applied to the
  final mixed distribution, as Hugging Face's logits processors of the same names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from workers.ml.copy_mixture import CopyIndex, CopyMixture, CopySource
from workers.ml.gpt2_forward import Gpt2Forward
from workers.ml.ngram_mixture import NgramMixture
from workers.ml.phrase_loops import NO_PENALTY, NO_REPEAT_OFF, PhraseLoopRules

# Nucleus search looks among this many most likely tokens first, and sorts a row's whole vocabulary
# only when its nucleus is wider (docs/generation.md, "Where a decoding step's time goes").
_FIRST_CANDIDATES = 256
# Up to this vocabulary size a CPU sorts every row at once instead: this project's small-vocabulary
# generators, served with an n-gram, have many rows whose nucleus is wider than 256, and one numpy sort
# of all rows costs less than ``topk`` and then sorting those rows (on one thread; on two they tie:
# docs/benchmarks.md, "Decoding").
_SORT_WHOLE_VOCABULARY = 8192


class TextListener(Protocol):
    """Told each piece of a request's text once it is certain (workers/ml/incremental_text.py), at
    most every 50 ms (workers/ml/streamed_rows.py): ``choice`` is which of the request's
    ``num_return_sequences`` it belongs to. Called from the decoding loop, so it must return at once
    (workers/text_stream.py queues and publishes)."""

    def __call__(self, choice: int, text: str) -> None: ...


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt and how to continue it; the defaults are those of the generate job's schema, but for the
    phrase-loop rules, which are off here (the reply path and the measurements ask for them explicitly)."""

    prompt: str
    max_new_tokens: int = 64
    temperature: float = 0.8  # 0: greedy decoding
    top_p: float = 0.95  # nucleus sampling only, no top-k
    num_return_sequences: int = 1
    seed: int | None = None  # None: a fresh, unpredictable seed
    # Who follows the text as it is decoded (a job's stream in Redis); None decodes silently.
    listener: TextListener | None = field(default=None, compare=False, repr=False)
    # Against phrase loops (workers/ml/phrase_loops.py): 0 and 1.0 turn them off; the generate job's
    # defaults are chosen on validation prompts (docs/generation.md, "Phrase loops"). After the
    # listener, so that a request built positionally keeps its meaning.
    no_repeat_ngram_size: int = NO_REPEAT_OFF
    repetition_penalty: float = NO_PENALTY

    def validate(self, context_size: int) -> None:
        if not 1 <= self.max_new_tokens < context_size:
            raise ValueError(f"max_new_tokens must be in [1, {context_size - 1}], got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.num_return_sequences < 1:
            raise ValueError(f"num_return_sequences must be >= 1, got {self.num_return_sequences}")
        if self.no_repeat_ngram_size < 0:
            raise ValueError(f"no_repeat_ngram_size must be >= 0, got {self.no_repeat_ngram_size}")
        if not self.repetition_penalty > 0:
            raise ValueError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")


@dataclass(frozen=True)
class DecodeRow:
    """One sequence to decode. Rows of the same request share (and take turns drawing from) its generator."""

    prompt_ids: Sequence[int]
    max_new_tokens: int
    temperature: float
    top_p: float
    generator: torch.Generator | None  # None for greedy rows, which draw nothing
    no_repeat_ngram_size: int = NO_REPEAT_OFF
    repetition_penalty: float = NO_PENALTY


def request_generator(seed: int | None, device: str) -> torch.Generator:
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()  # non-deterministic, and leaves torch's global random state alone
    else:
        generator.manual_seed(seed)
    return generator


@torch.inference_mode()
def decode_rows(
    forward: Gpt2Forward,
    rows: Sequence[DecodeRow],
    eos_id: int,
    device: str,
    mixture: NgramMixture | None = None,
    copy: CopyMixture | None = None,
    on_step: Callable[[Sequence[tuple[int, int]]], None] | None = None,
) -> list[list[int]]:
    """The new token ids of every row, without the prompt and without the end-of-text token.

    With a ``mixture``, each step samples from the transformer interpolated with its n-gram, which
    sees each row's own tokens so far (prompt and generated); with ``copy``, from that interpolated
    with copying from the row's own prompt (or text so far). ``on_step`` is given, after each step,
    the (row, token) pairs that step added, so text can be streamed while the batch decodes."""
    if not rows:
        return []
    if any(not row.prompt_ids for row in rows):
        raise ValueError("every row needs at least one prompt token")
    width = max(len(row.prompt_ids) for row in rows)
    input_ids = torch.full((len(rows), width), eos_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        input_ids[i, width - len(row.prompt_ids) :] = torch.tensor(list(row.prompt_ids))
        attention_mask[i, width - len(row.prompt_ids) :] = 1
    input_ids, attention_mask = input_ids.to(device), attention_mask.to(device)
    # Padding gets position 0 (it is masked anyway); the first real token of every row gets position 0.
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)

    temperature = torch.tensor([row.temperature for row in rows], device=device)
    top_p = torch.tensor([row.top_p for row in rows], device=device)
    budget = [row.max_new_tokens for row in rows]
    live = list(range(len(rows)))  # original indices of the rows still in the batch, in order
    generated: list[list[int]] = [[] for _ in rows]
    copy_indexes = _copy_indexes(copy, rows) if copy is not None else []
    rules = PhraseLoopRules.of(
        [row.prompt_ids for row in rows],
        [row.no_repeat_ngram_size for row in rows],
        [row.repetition_penalty for row in rows],
        forward.vocab_size,
        device,
    )

    logits, cache = forward.prompt(input_ids, attention_mask, position_ids)
    next_position = position_ids[:, -1] + 1
    while True:
        if mixture is not None:
            logits = mixture.log_probs(logits, [[*rows[i].prompt_ids, *generated[i]] for i in live])
        if copy is not None:
            tails = [[*rows[i].prompt_ids[-copy.max_match :], *generated[i][-copy.max_match :]] for i in live]
            logits = copy.log_probs(logits, [copy_indexes[i] for i in live], tails)
        if rules is not None:
            logits = rules.apply(logits, live)
        tokens = _choose(logits, temperature, top_p, [rows[i].generator for i in live])
        keep = []
        added = []
        for slot, (index, token) in enumerate(zip(live, tokens.tolist(), strict=True)):
            if token == eos_id:
                continue
            generated[index].append(token)
            added.append((index, token))
            if copy is not None:
                copy.record(copy_indexes[index], token)
            if rules is not None:
                rules.record(index, token)
            if len(generated[index]) < budget[index]:
                keep.append(slot)
        if on_step is not None and added:
            on_step(added)
        if not keep:
            return generated
        if len(keep) < len(live):
            # Finished rows leave the batch: they would only cost compute from here on.
            selected = torch.tensor(keep, device=device)
            cache.keep_rows(selected)
            tokens, attention_mask, next_position = (
                tokens[selected],
                attention_mask[selected],
                next_position[selected],
            )
            temperature, top_p = temperature[selected], top_p[selected]
            live = [live[slot] for slot in keep]
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones((len(live), 1))], dim=1)
        logits = forward.step(tokens, attention_mask, next_position, cache)
        next_position = next_position + 1


def _copy_indexes(copy: CopyMixture, rows: Sequence[DecodeRow]) -> list[CopyIndex]:
    """One index per row. Copying from the prompt alone lets the rows of one request share theirs;
    copying from the text so far gives each row its own, as each writes its own text."""
    if copy.source is CopySource.TEXT:
        return [copy.index(row.prompt_ids) for row in rows]
    by_prompt: dict[tuple[int, ...], CopyIndex] = {}
    for row in rows:
        key = tuple(row.prompt_ids)
        if key not in by_prompt:
            by_prompt[key] = copy.index(row.prompt_ids)
    return [by_prompt[tuple(row.prompt_ids)] for row in rows]


def _choose(
    logits: torch.Tensor,
    temperature: torch.Tensor,
    top_p: torch.Tensor,
    generators: Sequence[torch.Generator | None],
) -> torch.Tensor:
    """The next token of every row: argmax for temperature 0, else a nucleus sample."""
    chosen = logits.argmax(dim=-1)
    sampled_rows = [i for i, generator in enumerate(generators) if generator is not None]
    if not sampled_rows:
        return chosen
    index = torch.tensor(sampled_rows, device=logits.device)
    probs = torch.softmax(logits[index].float() / temperature[index, None], dim=-1)
    # One uniform per row, from that row's own request generator: a row consumes the same random numbers
    # whatever else is in the batch.
    uniform = torch.cat(
        [torch.rand(1, generator=generators[i], device=generators[i].device) for i in sampled_rows]
    ).to(logits.device)
    top_p = top_p[index]
    full = top_p >= 1  # no nucleus: every token is a candidate, in token-id order already
    tokens = torch.empty_like(index)
    if bool(full.any()):
        tokens[full] = _inverse_cdf(probs[full], uniform[full])
    if not bool(full.all()):
        tokens[~full] = _nucleus_sample(probs[~full], top_p[~full], uniform[~full])
    chosen[index] = tokens
    return chosen


def _nucleus_sample(probs: torch.Tensor, top_p: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF sampling from the smallest set of most likely tokens whose mass reaches ``top_p``,
    with any token exactly as likely as the set's last.

    The set is a threshold: the probability of the nucleus's last token, read off the row's most likely
    probabilities. A trained model's nucleus nearly always lies within its 256 most likely tokens, and
    ``topk`` finds those cheaply even among GPT-2's 50,257; a row whose nucleus is wider (a small
    vocabulary served with an n-gram has many) has all its probabilities sorted instead, and on a CPU
    every row of a vocabulary up to ``_SORT_WHOLE_VOCABULARY`` is. Each way gives the same set, so the
    path a row takes never changes its token, and it depends only on the row's own distribution.

    The CDF runs over the candidates in token-id order, not probability order, and in float64: rounding
    differences between batch shapes move its steps by ~1e-12 and almost never change the token, whereas
    an order by probability would reshuffle near-equal tokens.
    """
    if probs.device.type == "cpu" and probs.shape[-1] <= _SORT_WHOLE_VOCABULARY:
        return _sorted_nucleus_sample(probs, top_p, uniform)
    tokens = torch.empty(len(probs), dtype=torch.long, device=probs.device)
    values, ids = probs.topk(min(_FIRST_CANDIDATES, probs.shape[-1]), dim=-1)
    least, inside = _nucleus_end(values, top_p)
    if values.shape[-1] == probs.shape[-1]:
        found = torch.ones(len(probs), dtype=torch.bool, device=probs.device)
    else:
        # The set lies within the candidates when their last is less likely than its last token: no
        # token left out can tie with that one.
        found = values[:, -1] < least[:, 0]
    if bool(found.any()):
        width = int(inside[found].sum(dim=-1).max())
        ids, order = ids[found, :width].sort(dim=-1)
        mass = (values[found, :width] * inside[found, :width]).gather(1, order)
        tokens[found] = _inverse_cdf(mass, uniform[found], ids)
    wide = ~found
    if bool(wide.any()):
        tokens[wide] = _sorted_nucleus_sample(probs[wide], top_p[wide], uniform[wide])
    return tokens


def _sorted_nucleus_sample(probs: torch.Tensor, top_p: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """The same draw as ``_nucleus_sample``, with each row's threshold read off all its probabilities
    sorted: the CDF runs over the whole vocabulary, the tokens outside the nucleus at zero mass."""
    least, _ = _nucleus_end(_most_likely_first(probs), top_p)
    return _inverse_cdf(probs * (probs >= least), uniform)


def _nucleus_end(ranked: torch.Tensor, top_p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """From each row's most likely probabilities in descending order (all of them, or a prefix): the
    probability of the nucleus's last token (a column), and which of ``ranked`` are that likely or more."""
    ranked_inside = ranked.cumsum(dim=-1) - ranked < top_p[:, None]  # the most likely token always stays
    least = ranked.gather(1, ranked_inside.sum(dim=-1, keepdim=True) - 1)
    return least, ranked >= least


def _most_likely_first(probs: torch.Tensor) -> torch.Tensor:
    """Each row's probabilities in descending order. On a CPU numpy sorts them: its vectorised sort
    (AVX-512 or AVX2) is many times faster than torch's ``sort`` or a wide ``topk`` there, which made
    nucleus search a third of a batched step (docs/generation.md, "Where a decoding step's time goes")."""
    if probs.device.type == "cpu":
        return torch.from_numpy(-np.sort(-probs.numpy(), axis=-1))
    return probs.sort(dim=-1, descending=True).values


def _inverse_cdf(mass: torch.Tensor, uniform: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
    """Per row, the id of the candidate where ``uniform`` falls in the (unnormalised) CDF of ``mass``.

    ``ids`` maps candidate positions to token ids (None: positions are the ids). Candidates with zero
    mass are never picked: ``right=True`` skips the flat steps they leave in the CDF.
    """
    cdf = mass.double().cumsum(dim=-1)
    picked = torch.searchsorted(cdf, (uniform.double() * cdf[:, -1])[:, None], right=True)
    picked = picked.clamp(max=mass.shape[-1] - 1)
    return (picked if ids is None else ids.gather(1, picked)).squeeze(1)
