"""A served GPT-2 model interpolated with copying: what followed the last few tokens earlier in the text.

A small transformer trained for minutes on a CPU follows its context only loosely: a ``replies`` model
wanders from the approved answers in its prompt, a news generator forgets the names its article has
used. So the served distribution mixes in an explicit copy (a pointer or cache model: Kuhn & De Mori
1990, Grave et al. 2017, Merity et al. 2017), in its simplest, count-based form:

- the match: the longest ``n ≤ max_match`` such that the last ``n`` tokens written also occur earlier
  in the source, followed by a token;
- ``P_copy(next)``: how often each token follows those occurrences in the source;
- ``P(next) = (1 − λₙ) · P_model(next) + λₙ · P_copy(next)``, one weight per match length (a long
  match makes copying likelier); the model alone where nothing matches.

The source is the prompt only for ``replies`` (the approved answers and the conversation: a reply may
not feed on its own output), and the whole text so far for a generator (an article repeats its own
names and phrases). The weights are chosen on validation text when the model is trained (never test)
and travel with it in ``queuebot.json``; a folder without them is served without copying.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import torch
from transformers import LogitsProcessor

INFO_KEY = "copy_mixture"  # in ModelInfo.data: {"source": "prompt" | "text", "weights": [λ₁, …]}


class CopySource(StrEnum):
    PROMPT = "prompt"  # the prompt only
    TEXT = "text"  # everything so far: the prompt and what has been generated


class CopyIndex:
    """Every n-gram of a source (n ≤ ``max_match``) with the tokens that follow it there."""

    def __init__(self, source_ids: Sequence[int], max_match: int) -> None:
        self.max_match = max_match
        self._ids: list[int] = []
        self._next: dict[tuple[int, ...], Counter[int]] = defaultdict(Counter)
        for token in source_ids:
            self.append(token)

    def append(self, token: int) -> None:
        """Extend the source by one token: it now follows each n-gram that ends the source so far."""
        for n in range(1, min(self.max_match, len(self._ids)) + 1):
            self._next[tuple(self._ids[-n:])][token] += 1
        self._ids.append(token)

    def match(self, history: Sequence[int]) -> tuple[int, dict[int, float]]:
        """(n, P_copy) for the longest suffix of ``history`` the source holds; (0, {}) for none."""
        for n in range(min(self.max_match, len(history)), 0, -1):
            following = self._next.get(tuple(history[-n:]))
            if following:
                total = sum(following.values())
                return n, {token: count / total for token, count in following.items()}
        return 0, {}


@dataclass(frozen=True)
class CopyMixture:
    source: CopySource
    weights: tuple[float, ...]  # copying's share of the probability after a match of length 1, 2, …

    def __post_init__(self) -> None:
        if not self.weights:
            raise ValueError("copying needs a weight for at least one match length")
        if any(not 0.0 <= weight < 1.0 for weight in self.weights):
            # Below 1: a token the source does not continue with must stay possible.
            raise ValueError(f"copy weights must be in [0, 1), got {list(self.weights)}")

    @property
    def max_match(self) -> int:
        return len(self.weights)

    def index(self, prompt_ids: Sequence[int]) -> CopyIndex:
        """A row's index at the start of decoding; extend it with ``record`` as tokens are chosen."""
        return CopyIndex(prompt_ids, self.max_match)

    def record(self, index: CopyIndex, token: int) -> None:
        """A token was generated: copying from the text so far may copy from it too."""
        if self.source is CopySource.TEXT:
            index.append(token)

    def log_probs(
        self, logits: torch.Tensor, indexes: Sequence[CopyIndex], histories: Sequence[Sequence[int]]
    ) -> torch.Tensor:
        """Log P(next) under the interpolation, one row per (index, tokens so far); ``logits`` may be
        any model's scores, an n-gram mixture's log-probabilities included."""
        probs = torch.softmax(logits.float(), dim=-1)
        # One scaling and one scatter for the whole batch: per-row tensor work costs more than the
        # dictionary lookups themselves at the batch sizes served.
        kept = [1.0] * len(indexes)
        rows: list[int] = []
        tokens: list[int] = []
        shares: list[float] = []
        for row, (index, history) in enumerate(zip(indexes, histories, strict=True)):
            n, copied = index.match(history)
            if not copied:
                continue
            weight = self.weights[n - 1]
            kept[row] = 1.0 - weight
            rows.extend([row] * len(copied))
            tokens.extend(copied)
            shares.extend(weight * share for share in copied.values())
        if rows:
            probs = probs * torch.tensor(kept, device=probs.device, dtype=probs.dtype)[:, None]
            probs[torch.tensor(rows, device=probs.device), torch.tensor(tokens, device=probs.device)] += (
                torch.tensor(shares, device=probs.device, dtype=probs.dtype)
            )
        return torch.log(probs)

    def target_probabilities(
        self, input_ids: Sequence[int], first_target: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each target token ``input_ids[first_target:]``, the match length before it and its copy
        probability, the tokens before ``first_target`` being the prompt: what fitting the weights needs."""
        index = self.index(input_ids[:first_target])
        lengths, probabilities = [], []
        for position in range(first_target, len(input_ids)):
            n, copied = index.match(input_ids[:position])
            lengths.append(n)
            probabilities.append(copied.get(input_ids[position], 0.0))
            self.record(index, input_ids[position])
        return np.array(lengths, dtype=np.int64), np.array(probabilities)

    def to_data(self) -> dict[str, object]:
        return {"source": self.source.value, "weights": [round(weight, 4) for weight in self.weights]}

    @classmethod
    def load(cls, data: Mapping[str, object]) -> CopyMixture | None:
        """The copying a model's info records, or None for a model served without."""
        entry = data.get(INFO_KEY)
        if entry is None:
            return None
        weights = entry.get("weights") if isinstance(entry, Mapping) else None
        source = entry.get("source") if isinstance(entry, Mapping) else None
        if (
            not isinstance(weights, list)
            or not all(isinstance(w, int | float) for w in weights)
            or source not in set(CopySource)
        ):
            raise ValueError(f"the model's info has a malformed {INFO_KEY!r} entry: {entry!r}")
        return cls(CopySource(source), tuple(float(weight) for weight in weights))


class CopyLogitsProcessor(LogitsProcessor):
    """Copying as a Hugging Face ``generate`` step for one prompt, which every row of the batch
    continues; put it after any n-gram mixture and before any temperature or top-p warper."""

    def __init__(self, copy: CopyMixture, prompt_ids: Sequence[int]) -> None:
        self.copy = copy
        self.prompt_ids = list(prompt_ids)
        self.indexes: list[CopyIndex] = []
        self.seen = len(self.prompt_ids)  # tokens of each row the indexes have been given

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        rows = input_ids.tolist()
        if not self.indexes:
            self.indexes = [self.copy.index(self.prompt_ids) for _ in rows]
        for index, row in zip(self.indexes, rows, strict=True):
            for token in row[self.seen :]:
                self.copy.record(index, token)
        self.seen = len(rows[0])
        return self.copy.log_probs(scores, self.indexes, rows).to(scores.dtype)
