"""Interpolated modified Kneser-Ney over token ids: the GPT-2 cards' baseline, and the n-gram half of a
served generator (``ngram_mixture``).

A transformer's held-out perplexity says little on its own; beside it the cards show what a classical
n-gram model fitted on the same training tokens scores on the same held-out tokens. A small transformer
trained for minutes on a CPU is still behind such a model, and the two know different things (the
n-gram exact local counts, the transformer longer context), so a served model interpolates them.

No well-kept library fits the bill here: kenlm's pip package only queries models that its C++
``lmplz`` built, and NLTK's ``KneserNeyInterpolated`` takes far too long on the two million or so tokens
a build trains on. So this is interpolated modified Kneser-Ney as Chen & Goodman define it ("An empirical
study of smoothing techniques for language modeling", Harvard TR-10-98, 1998, section 3.5 and eq. 26),
the variant SRILM
(``-kndiscount -interpolate``) and KenLM's ``lmplz`` build:

* three discounts per order, D1, D2 and D3+, estimated from that order's counts-of-counts
  n1..n4 as ``Y = n1 / (n1 + 2 n2)``, ``Dk = k - (k + 1) Y n(k+1) / nk``;
* the highest order uses raw counts, every lower order continuation counts (how many distinct tokens
  precede the n-gram), so a lower order models how readily a token follows new contexts;
* every order is interpolated with the one below, the unigram with a uniform distribution over the whole
  id space, so a token never seen in training still gets a finite probability.

Sequences are independent documents or blocks: each is preceded by one begin-of-sequence marker (an id
outside the vocabulary; it is conditioned on, never predicted) and no n-gram crosses from one sequence into
the next. As in KenLM, n-grams that begin with the marker keep their raw counts in the lower orders, having
no left context to count. ``score`` predicts every token but the first of each sequence, so its figures
line up with a causal LM scored on the same blocks, where position t predicts token t + 1.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# KenLM's --discount_fallback defaults, for orders whose counts-of-counts are too sparse for the estimate
# (a tiny corpus, or one where every n-gram of an order is seen at least twice).
_FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)


@dataclass(frozen=True)
class NgramScore:
    total_nll: float  # nats, summed over every scored token
    tokens: int  # tokens scored

    @property
    def perplexity(self) -> float:
        """Perplexity per scored token; divide ``total_nll`` yourself to normalise by another count."""
        if self.tokens == 0:
            raise ValueError("no tokens were scored, so there is no perplexity")
        return math.exp(self.total_nll / self.tokens)


@dataclass(frozen=True)
class _Order:
    """What order k needs at query time; a k-gram is its context's id and its last token.

    Contexts are numbered like the (k - 1)-grams they are: by token id at k = 2, by position in the order
    below's ``keys`` from k = 3 on, and the single empty context is 0 at k = 1. Numbering n-grams densely,
    one order at a time, keeps every key below (distinct n-grams x id space), so any order fits in int64.
    """

    keys: np.ndarray  # int64, sorted: context id * (vocab_size + 1) + token; unused at k = 1
    discounted: np.ndarray  # float64 max(count - D(count), 0) per k-gram; at k = 1 indexed by token id
    inverse_total: np.ndarray  # per context id: 1 / its total count, 0 for a context never seen
    lower_share: np.ndarray  # per context id: the share of its mass the order below gets, 1 if never seen
    discounts: tuple[float, float, float]


class KneserNeyLM:
    """An interpolated modified Kneser-Ney language model over integer token ids in ``[0, vocab_size)``.

    Build one with :meth:`fit`; a model made with the constructor alone has seen nothing and refuses to
    score. ``vocab_size`` is the size of the id space (the tokenizer's length), not the number of distinct
    ids in the training data: it sets the uniform floor that unseen tokens fall back on.
    """

    def __init__(self, order: int = 3, *, vocab_size: int) -> None:
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"order must be an integer of at least 1, not {order!r}")
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
            raise ValueError(f"vocab_size must be a positive integer, not {vocab_size!r}")
        self.order = order
        self.vocab_size = vocab_size
        self._bos = vocab_size  # the begin-of-sequence marker: the one id past the vocabulary
        self._base = vocab_size + 1
        self._orders: list[_Order] = []

    @classmethod
    def fit(cls, sequences: Iterable[Sequence[int]], vocab_size: int, order: int = 3) -> KneserNeyLM:
        """Count n-grams in ``sequences`` (each an independent document or block) and estimate the model."""
        model = cls(order, vocab_size=vocab_size)
        started = time.perf_counter()
        tokens, history = model._flatten(sequences)
        if not np.any(history > 0):
            raise ValueError("no training tokens: there are no sequences, or every one is empty")
        model._estimate(tokens, history)
        log.info(
            "Kneser-Ney order %d fitted on %d tokens in %.1f s: %s distinct n-grams per order, discounts %s",
            order,
            int(np.count_nonzero(history)),
            time.perf_counter() - started,
            [
                int(np.count_nonzero(o.discounted > 0)) if k == 1 else len(o.keys)
                for k, o in enumerate(model._orders, 1)
            ],
            [tuple(round(d, 3) for d in o.discounts) for o in model._orders],
        )
        return model

    def logprob(self, context: Sequence[int], token: int) -> float:
        """Natural log of P(token | the last ``order - 1`` ids of context).

        A context shorter than ``order - 1`` ids is taken as the start of a sequence, the way ``score``
        sees the first tokens of each one; an empty context gives the distribution of first tokens.
        """
        self._check_fitted()
        width = self.order - 1
        recent = self._ids(list(context)[max(0, len(context) - width) :] if width else [])
        start = [self._bos] if len(recent) < width else []
        tokens = np.array([*start, *recent.tolist(), self._id(token)], dtype=np.int64)
        return math.log(self._probabilities(tokens, np.arange(len(tokens)))[-1])

    def token_probabilities(self, sequences: Iterable[Sequence[int]]) -> np.ndarray:
        """P(token) of every token but the first of each sequence, in order: what ``score`` sums."""
        self._check_fitted()
        tokens, history = self._flatten(sequences)
        return self._probabilities(tokens, history)[history >= 2]

    def next_token_probabilities(self, contexts: Sequence[Sequence[int]]) -> np.ndarray:
        """One row per context: the distribution of the token after it over the whole vocabulary.

        A context is read as the start of a sequence (as ``logprob`` reads it): only its last
        ``order - 1`` ids matter, and a shorter one is preceded by the begin-of-sequence marker.
        """
        self._check_fitted()
        width = self.order - 1
        recents = [list(context)[max(0, len(context) - width) :] if width else [] for context in contexts]
        # Every row's ids checked in one go: this runs at every decoding step, where a check per row
        # was a noticeable share of the 4-gram's time (docs/generation.md).
        self._ids([token for recent in recents for token in recent])
        rows = np.empty((len(contexts), self.vocab_size))
        for row, recent in enumerate(recents):
            rows[row] = self._next_distribution([self._bos, *(int(token) for token in recent)])
        return rows

    def save(self, path: Path) -> None:
        """Everything queries need, as one ``.npz`` file (no pickled objects)."""
        self._check_fitted()
        arrays: dict[str, np.ndarray] = {"shape": np.array([self.order, self.vocab_size])}
        for k, estimates in enumerate(self._orders, start=1):
            for name in _Order.__dataclass_fields__:
                arrays[f"{k}_{name}"] = np.asarray(getattr(estimates, name))
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> KneserNeyLM:
        with np.load(path, allow_pickle=False) as arrays:
            order, vocab_size = (int(value) for value in arrays["shape"])
            model = cls(order, vocab_size=vocab_size)
            for k in range(1, order + 1):
                fields = {name: arrays[f"{k}_{name}"] for name in _Order.__dataclass_fields__}
                fields["discounts"] = tuple(float(d) for d in fields["discounts"])
                model._orders.append(_Order(**fields))
        return model

    def score(self, sequences: Iterable[Sequence[int]]) -> NgramScore:
        """Summed negative log-likelihood of every token but the first of each sequence.

        The first token of a sequence is skipped, as a causal LM scored on a block cannot predict its
        first token; the rest are predicted from context within their own sequence only.
        """
        self._check_fitted()
        tokens, history = self._flatten(sequences)
        scored = history >= 2  # the marker sits at 0 and the unpredicted first token at 1
        nll = -np.log(self._probabilities(tokens, history)[scored]).sum()
        return NgramScore(total_nll=float(nll), tokens=int(np.count_nonzero(scored)))

    def _flatten(self, sequences: Iterable[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """All sequences end to end, each after a marker; and how many ids precede each within its own."""
        parts, lengths = [], []
        marker = np.array([self._bos], dtype=np.int64)
        for sequence in sequences:
            ids = self._ids(sequence)
            if len(ids):  # an empty sequence has nothing to count or score
                parts += [marker, ids]
                lengths.append(len(ids) + 1)
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        sizes = np.array(lengths)
        starts = np.cumsum(sizes) - sizes
        return np.concatenate(parts), np.arange(int(sizes.sum())) - np.repeat(starts, sizes)

    def _estimate(self, tokens: np.ndarray, history: np.ndarray) -> None:
        base, order = self._base, self.order
        # Order by order: the id of the k-gram ending at each position (-1 where the sequence is shorter),
        # the sorted distinct k-grams, where each first occurs, and how often each occurs.
        gram_ids = [tokens]  # a unigram's id is its token
        keys: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        first_at: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        raw: list[np.ndarray] = [np.bincount(tokens, minlength=base)]
        for k in range(2, order + 1):
            positions = np.flatnonzero(history >= k - 1)
            grams = gram_ids[-1][positions - 1] * base + tokens[positions]
            unique, first, inverse, counts = np.unique(
                grams, return_index=True, return_inverse=True, return_counts=True
            )
            ids = np.full(len(tokens), -1, dtype=np.int64)
            ids[positions] = inverse
            gram_ids.append(ids)
            keys.append(unique)
            first_at.append(positions[first])
            raw.append(counts)

        starts_with_marker = np.arange(base) == self._bos
        for k in range(1, order + 1):
            if k > 1:
                starts_with_marker = starts_with_marker[keys[k - 1] // base]
            if k == order:
                counts = raw[k - 1]
            else:
                # Continuation counts: each distinct (k + 1)-gram is one distinct left extension of the
                # k-gram it ends with. Nothing precedes the marker, so k-grams led by it keep raw counts.
                counts = np.bincount(gram_ids[k - 1][first_at[k]], minlength=len(raw[k - 1]))
                counts = np.where(starts_with_marker, raw[k - 1], counts)
            if k == 1:
                counts = counts.copy()
                counts[self._bos] = 0  # the marker is conditioned on, never predicted
                contexts, n_contexts = np.zeros(base, dtype=np.int64), 1
            else:
                contexts, n_contexts = keys[k - 1] // base, len(raw[k - 2])
            self._orders.append(self._discounted_order(k, keys[k - 1], counts, contexts, n_contexts))

    def _discounted_order(
        self, k: int, keys: np.ndarray, counts: np.ndarray, contexts: np.ndarray, n_contexts: int
    ) -> _Order:
        discounts = _estimate_discounts(counts, k)
        d1, d2, d3 = discounts
        discount = np.select([counts == 0, counts == 1, counts == 2], [0.0, d1, d2], d3)
        totals = np.bincount(contexts, weights=counts, minlength=n_contexts)
        freed = np.bincount(contexts, weights=discount, minlength=n_contexts)
        seen = totals > 0
        safe_totals = np.where(seen, totals, 1.0)
        return _Order(
            keys=keys,
            discounted=counts - discount,
            inverse_total=np.where(seen, 1.0 / safe_totals, 0.0),
            lower_share=np.where(seen, freed / safe_totals, 1.0),
            discounts=discounts,
        )

    def _probabilities(self, tokens: np.ndarray, history: np.ndarray) -> np.ndarray:
        """P(token at each position | the ids before it in its sequence), for every position at once."""
        base = self._base
        p = np.full(len(tokens), 1.0 / self.vocab_size)
        previous = tokens  # the id of the (k - 1)-gram ending at each position
        for k, estimates in enumerate(self._orders, start=1):
            if k == 1:
                contexts, grams = np.zeros(len(tokens), dtype=np.int64), tokens
            else:
                contexts = np.full(len(tokens), -1, dtype=np.int64)
                contexts[1:] = previous[:-1]
                contexts[history < k - 1] = -1
                keys = estimates.keys
                wanted = contexts * base + tokens
                found = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
                known = (
                    (contexts >= 0) & (keys[found] == wanted) if len(keys) else np.zeros(len(tokens), bool)
                )
                grams = np.where(known, found, -1)
            # Built bottom-up: each order mixes its own estimate with the one below; a context it never saw
            # (or a sequence too short for it) leaves the estimate below as it is.
            usable = contexts >= 0
            at, gram = contexts[usable], grams[usable]
            own = np.where(gram >= 0, estimates.discounted[np.maximum(gram, 0)], 0.0)
            p[usable] = own * estimates.inverse_total[at] + estimates.lower_share[at] * p[usable]
            previous = grams
        return p

    def _next_distribution(self, history: list[int]) -> np.ndarray:
        """The next token's distribution after ``history`` (marker first), built bottom-up as
        ``_probabilities`` builds one token's: each order whose context was seen mixes its own estimate
        with the one below; a context never seen leaves the estimate below as it is."""
        base = self._base
        p = np.full(base, 1.0 / self.vocab_size)
        for k, estimates in enumerate(self._orders, start=1):
            if k > len(history) + 1:
                break  # the sequence is too short for a context of k - 1 ids
            context = 0 if k == 1 else self._gram_id(history[len(history) - (k - 1) :])
            if context < 0:
                break  # an n-gram never seen is no higher order's context either
            mixed = estimates.lower_share[context] * p
            if k == 1:
                mixed += estimates.discounted * estimates.inverse_total[0]
            else:
                keys = estimates.keys
                start, end = np.searchsorted(keys, [context * base, (context + 1) * base])
                mixed[keys[start:end] % base] += (
                    estimates.discounted[start:end] * estimates.inverse_total[context]
                )
            p = mixed
        return p[: self.vocab_size]

    def _gram_id(self, ids: list[int]) -> int:
        """The number of the n-gram ``ids`` among order n's (its token id when n is 1), -1 if unseen."""
        gram = ids[0]
        for n in range(2, len(ids) + 1):
            keys = self._orders[n - 1].keys
            wanted = gram * self._base + ids[n - 1]
            found = int(np.searchsorted(keys, wanted))
            if found >= len(keys) or keys[found] != wanted:
                return -1
            gram = found
        return gram

    def _ids(self, sequence: Sequence[int]) -> np.ndarray:
        array = np.asarray(sequence)
        if array.size == 0:
            return np.zeros(0, dtype=np.int64)
        if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(
                f"a sequence must be a flat run of integer token ids, got {array.dtype} {array.shape}"
            )
        low, high = int(array.min()), int(array.max())
        if low < 0 or high >= self.vocab_size:
            bad = low if low < 0 else high
            raise ValueError(f"token id {bad} is outside the vocabulary [0, {self.vocab_size})")
        return array.astype(np.int64, copy=False)

    def _id(self, token: int) -> int:
        if isinstance(token, bool) or not isinstance(token, int | np.integer):
            raise ValueError(f"a token id must be an integer, not {token!r}")
        if not 0 <= token < self.vocab_size:
            raise ValueError(f"token id {token} is outside the vocabulary [0, {self.vocab_size})")
        return int(token)

    def _check_fitted(self) -> None:
        if not self._orders:
            raise RuntimeError("this KneserNeyLM has seen no data; build one with KneserNeyLM.fit")


def _estimate_discounts(counts: np.ndarray, k: int) -> tuple[float, float, float]:
    """D1, D2, D3+ for one order from its counts-of-counts (Chen & Goodman 1998, eq. 26)."""
    n1, n2, n3, n4 = (int(n) for n in np.bincount(counts[(counts > 0) & (counts <= 4)], minlength=5)[1:5])
    if min(n1, n2, n3, n4) > 0:
        y = n1 / (n1 + 2 * n2)
        discounts = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
        # A discount of zero or less would leave a context no mass for the orders below, so a token never
        # seen after it would get probability zero; D1 < 1, D2 <= 2, D3+ <= 3 hold by construction.
        if min(discounts) > 0:
            return discounts
    log.info(
        "order %d: counts-of-counts %s too sparse for Kneser-Ney discounts; using %s",
        k,
        (n1, n2, n3, n4),
        _FALLBACK_DISCOUNTS,
    )
    return _FALLBACK_DISCOUNTS
