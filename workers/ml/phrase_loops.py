"""Rules against phrase loops in the batched decode: ``no_repeat_ngram_size`` and ``repetition_penalty``.

A generator served with copying from its own text (``copy_mixture``) and a 4-gram (``ngram_mixture``)
readily falls into loops: once "in the UK's presence" has been written, copying makes its continuation
likelier, which makes the next copy likelier still. Hugging Face users stop such loops with two logits
processors, and these rules mean exactly what those do:

- ``no_repeat_ngram_size = n`` (``NoRepeatNGramLogitsProcessor``): a token that would complete an
  n-gram already present in the row's tokens (prompt included) is forbidden; 0 turns it off;
- ``repetition_penalty = θ`` (``RepetitionPenaltyLogitsProcessor``): the score of every token already
  present in the row's tokens (prompt included) is divided by θ when positive and multiplied by θ when
  negative; 1 turns it off.

They are applied to the final distribution (after the n-gram and copy mixtures), so neither part can
re-create a forbidden continuation. There the scores are log-probabilities (all negative), so the
penalty raises an already-seen token's probability to the power θ before sampling renormalises.

Each row keeps its own state (the n-grams it has written, the tokens it has seen) and its own settings,
so a request's text does not depend on what else shares the batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import torch

NO_REPEAT_OFF = 0
NO_PENALTY = 1.0


class _NgramBans:
    """One row's n-grams of size n, as the set of tokens that followed each (n − 1)-token prefix."""

    def __init__(self, size: int, tokens: Sequence[int]) -> None:
        self.size = size
        self.tokens: list[int] = []
        self.following: defaultdict[tuple[int, ...], set[int]] = defaultdict(set)
        for token in tokens:
            self.append(token)

    def append(self, token: int) -> None:
        self.tokens.append(token)
        if len(self.tokens) >= self.size:
            gram = self.tokens[-self.size :]
            self.following[tuple(gram[:-1])].add(token)

    def banned(self) -> set[int] | None:
        """Tokens that would complete an n-gram already written (None: nothing is banned yet)."""
        if len(self.tokens) + 1 < self.size:
            return None
        prefix = tuple(self.tokens[len(self.tokens) - self.size + 1 :]) if self.size > 1 else ()
        return self.following.get(prefix)


class PhraseLoopRules:
    """The rules of every row of one decode; rows are numbered as the decode's ``rows`` are."""

    def __init__(
        self,
        prompts: Sequence[Sequence[int]],
        no_repeat_ngram_sizes: Sequence[int],
        repetition_penalties: Sequence[float],
        vocab_size: int,
        device: str | torch.device,
    ) -> None:
        if not len(prompts) == len(no_repeat_ngram_sizes) == len(repetition_penalties):
            raise ValueError("one prompt, n-gram size and penalty per row")
        if any(size < 0 for size in no_repeat_ngram_sizes):
            raise ValueError(f"no_repeat_ngram_size must be >= 0, got {list(no_repeat_ngram_sizes)}")
        if any(not penalty > 0 for penalty in repetition_penalties):
            raise ValueError(f"repetition_penalty must be > 0, got {list(repetition_penalties)}")
        self._bans = [
            _NgramBans(size, prompt) if size > 0 else None
            for prompt, size in zip(prompts, no_repeat_ngram_sizes, strict=True)
        ]
        self._penalised = any(penalty != NO_PENALTY for penalty in repetition_penalties)
        self._penalty = torch.tensor(repetition_penalties, dtype=torch.float32, device=device)
        # Per row, which tokens it holds so far (only kept when some row is penalised).
        self._seen = torch.zeros(
            (len(prompts) if self._penalised else 0, vocab_size), dtype=torch.bool, device=device
        )
        for row, prompt in enumerate(prompts):
            if self._penalised:
                self._seen[row, torch.tensor(list(prompt), dtype=torch.long, device=device)] = True

    @classmethod
    def of(
        cls,
        prompts: Sequence[Sequence[int]],
        no_repeat_ngram_sizes: Sequence[int],
        repetition_penalties: Sequence[float],
        vocab_size: int,
        device: str | torch.device,
    ) -> PhraseLoopRules | None:
        """The rules, or None when every row has both off (a decode without them pays nothing)."""
        if all(size == NO_REPEAT_OFF for size in no_repeat_ngram_sizes) and all(
            penalty == NO_PENALTY for penalty in repetition_penalties
        ):
            return None
        return cls(prompts, no_repeat_ngram_sizes, repetition_penalties, vocab_size, device)

    def apply(self, scores: torch.Tensor, live: Sequence[int]) -> torch.Tensor:
        """``scores`` (one row per live row, in ``live`` order) with the penalty and the bans applied."""
        if self._penalised:
            rows = torch.tensor(live, dtype=torch.long, device=scores.device)
            penalty = self._penalty[rows, None].to(scores.dtype)
            penalised = torch.where(scores < 0, scores * penalty, scores / penalty)
            scores = torch.where(self._seen[rows], penalised, scores)
        slots: list[int] = []
        tokens: list[int] = []
        for slot, row in enumerate(live):
            bans = self._bans[row]
            banned = bans.banned() if bans is not None else None
            if banned:
                slots.extend([slot] * len(banned))
                tokens.extend(banned)
        if slots:
            scores = scores.clone() if not self._penalised else scores
            scores[
                torch.tensor(slots, device=scores.device), torch.tensor(tokens, device=scores.device)
            ] = -float("inf")
        return scores

    def record(self, row: int, token: int) -> None:
        """Row ``row`` chose ``token``: it now counts as seen, and completes n-grams of its own."""
        bans = self._bans[row]
        if bans is not None:
            bans.append(token)
        if self._penalised:
            self._seen[row, token] = True
