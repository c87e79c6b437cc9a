import math
from pathlib import Path

import numpy as np
import pytest

from workers.ml.kneser_ney import KneserNeyLM, NgramScore

VOCAB = 40
USED = 35  # the Markov chain below only emits ids below this, so ids 35..39 are never seen in training


def markov_sequences(seed: int, count: int, length: int = 50) -> list[list[int]]:
    """Sequences from a seeded second-order Markov chain: each pair of ids allows three next ids."""
    table = np.random.default_rng(1234).integers(
        0, USED, size=(USED, USED, 3)
    )  # the same chain for every seed
    rng = np.random.default_rng(seed)
    sequences = []
    for _ in range(count):
        picks = rng.choice(3, size=length, p=[0.6, 0.3, 0.1])
        sequence = [int(token) for token in rng.integers(0, USED, size=2)]
        for pick in picks[2:]:
            sequence.append(int(table[sequence[-2], sequence[-1], pick]))
        sequences.append(sequence)
    return sequences


@pytest.fixture(scope="module")
def train() -> list[list[int]]:
    return markov_sequences(seed=1, count=400)


@pytest.fixture(scope="module")
def held_out() -> list[list[int]]:
    return markov_sequences(seed=2, count=40)


@pytest.fixture(scope="module")
def trigram(train: list[list[int]]) -> KneserNeyLM:
    return KneserNeyLM.fit(train, vocab_size=VOCAB, order=3)


def total_probability(model: KneserNeyLM, context: list[int]) -> float:
    return math.fsum(math.exp(model.logprob(context, token)) for token in range(model.vocab_size))


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_probabilities_over_the_vocabulary_sum_to_one_in_seen_unseen_and_empty_contexts(
    train: list[list[int]], order: int
) -> None:
    model = KneserNeyLM.fit(train, vocab_size=VOCAB, order=order)
    seen = train[0][:10]
    contexts = {
        "empty (start of a sequence)": [],
        "one id": seen[:1],
        "seen": seen,
        "seen pair, never-seen id before it": [USED + 1, *seen[1:3]],
        "never-seen ids": [USED + 1, USED + 2, USED + 3],
        "pair never seen together": [seen[1], seen[0]],
    }
    for name, context in contexts.items():
        assert total_probability(model, context) == pytest.approx(1.0, abs=1e-9), name


def test_one_interpolated_probability_matches_the_hand_computed_value() -> None:
    # Order 3, vocabulary 0..4 (4 never seen), B the begin-of-sequence marker:
    #   B 0 1 2 | B 0 1 3 | B 2 1 2
    # Every order's counts-of-counts n1..n4 include a zero, so all use the fallback D1, D2, D3+ = 0.5, 1, 1.5.
    #
    # Unigrams, continuation counts (distinct ids before each): 0 <- {B}: 1, 1 <- {0, 2}: 2, 2 <- {1, B}: 2,
    # 3 <- {1}: 1. Total 6; discounts 0.5 + 1 + 1 + 0.5 = 3, so 3/6 = 1/2 goes to the uniform 1/5:
    #   P1(w) = (N(w) - D) / 6 + 1/2 * 1/5:  P1(0) = P1(3) = 11/60, P1(1) = P1(2) = 16/60, P1(4) = 6/60.
    # Bigrams, continuation counts from the distinct trigrams: (1 2) <- {0, 2}: 2, (1 3) <- {0}: 1.
    # Context "1" totals 3; discounts 1 + 0.5 leave it 1.5/3 = 1/2 for the unigrams:
    #   P2(2 | 1) = (2 - 1)/3 + 1/2 * 16/60 = 20/60 + 8/60 = 28/60.
    # Trigrams, raw counts: (0 1 2) 1, (0 1 3) 1. Context "0 1" totals 2, discounts 0.5 + 0.5 leave it 1/2:
    #   P3(2 | 0 1) = (1 - 0.5)/2 + 1/2 * 28/60 = 15/60 + 14/60 = 29/60.
    model = KneserNeyLM.fit([[0, 1, 2], [0, 1, 3], [2, 1, 2]], vocab_size=5, order=3)
    assert model.logprob([0, 1], 2) == pytest.approx(math.log(29 / 60), abs=1e-12)
    assert model.logprob([4, 0, 1], 2) == pytest.approx(
        math.log(29 / 60), abs=1e-12
    )  # only the last two count
    # A sequence's first id: context "B", whose bigrams start with the marker and so keep raw counts,
    # (B 0) 2 and (B 2) 1 (a continuation count would be 1 for each): total 3, 1/2 for the unigrams.
    #   P(0 | B) = (2 - 1)/3 + 1/2 * 11/60 = 20/60 + 5.5/60 = 25.5/60.
    assert model.logprob([], 0) == pytest.approx(math.log(25.5 / 60), abs=1e-12)


def test_unigram_discounts_come_from_the_counts_of_counts() -> None:
    # Order 1 uses raw counts: six ids seen once, three twice, two three times and one four times, 22 tokens.
    # n1..n4 = 6, 3, 2, 1: Y = 6 / (6 + 2*3) = 1/2, D1 = 1 - 2 * 1/2 * 3/6 = 1/2, D2 = 2 - 3 * 1/2 * 2/3 = 1,
    # D3+ = 3 - 4 * 1/2 * 1/2 = 2. Freed mass 6 * 1/2 + 3 * 1 + 3 * 2 = 12 of 22, spread over 16 ids:
    #   P(11) = (4 - 2)/22 + 12/22 * 1/16 = 32/352 + 12/352 = 1/8;  P(15), never seen, = 12/352.
    tokens = [0, 1, 2, 3, 4, 5, 6, 6, 7, 7, 8, 8, 9, 9, 9, 10, 10, 10, 11, 11, 11, 11]
    model = KneserNeyLM.fit([tokens], vocab_size=16, order=1)
    assert model.logprob([], 11) == pytest.approx(math.log(1 / 8), abs=1e-12)
    assert model.logprob([3, 4], 15) == pytest.approx(math.log(12 / 352), abs=1e-12)


def test_trigrams_beat_unigrams_on_held_out_text_and_unseen_ids_stay_finite(
    train: list[list[int]], held_out: list[list[int]], trigram: KneserNeyLM
) -> None:
    unigram = KneserNeyLM.fit(train, vocab_size=VOCAB, order=1)
    # Each pair allows three next ids, so a trigram model approaches exp(H(0.6, 0.3, 0.1)) ~ 2.4; a unigram
    # model sees the ~35 ids the chain emits.
    assert trigram.score(held_out).perplexity < 4 < 20 < unigram.score(held_out).perplexity
    for model in (trigram, unigram):
        unseen = model.logprob(held_out[0][:5], USED + 2)
        assert math.isfinite(unseen)
        assert unseen < model.logprob(held_out[0][:5], held_out[0][5])


def test_score_skips_each_first_token_and_never_reaches_into_another_sequence(
    trigram: KneserNeyLM, held_out: list[list[int]]
) -> None:
    first, second = held_out[0][:12], held_out[1][:7]
    together = trigram.score([first, second])
    assert together.tokens == (12 - 1) + (7 - 1)
    by_hand = [trigram.logprob(seq[:t], seq[t]) for seq in (first, second) for t in range(1, len(seq))]
    assert together.total_nll == pytest.approx(-math.fsum(by_hand), rel=1e-12)
    apart = [trigram.score([first]), trigram.score([second])]
    assert together.total_nll == pytest.approx(apart[0].total_nll + apart[1].total_nll, rel=1e-12)
    # The same ids as one sequence: the second block's first token is now predicted, from the first's tail.
    joined = trigram.score([first + second])
    assert joined.tokens == together.tokens + 1
    assert trigram.score([[5], []]) == NgramScore(total_nll=0.0, tokens=0)


def test_numpy_arrays_and_lists_give_the_same_model(train: list[list[int]], trigram: KneserNeyLM) -> None:
    from_arrays = KneserNeyLM.fit((np.array(s, dtype=np.int32) for s in train), vocab_size=VOCAB, order=3)
    sample = train[5][:20]
    assert from_arrays.score([np.array(sample)]) == trigram.score([sample])


@pytest.mark.parametrize("order", [0, -1, 2.0, True])
def test_an_order_below_one_or_not_an_integer_is_refused(order: object) -> None:
    with pytest.raises(ValueError, match="order"):
        KneserNeyLM.fit([[1, 2, 3]], vocab_size=5, order=order)  # type: ignore[arg-type]


def test_ids_outside_the_vocabulary_are_refused(trigram: KneserNeyLM) -> None:
    for bad in ([1, 2, 5], [1, -1, 2]):
        with pytest.raises(ValueError, match="outside the vocabulary"):
            KneserNeyLM.fit([[0, 1], bad], vocab_size=5)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        trigram.score([[1, 2, VOCAB]])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        trigram.logprob([1, 2], VOCAB)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        trigram.logprob([1, -3], 2)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        trigram.next_token_probabilities([[1, 2], [3, VOCAB]])
    with pytest.raises(ValueError, match="integer"):
        KneserNeyLM.fit([[0.5, 1.0]], vocab_size=5)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="integer"):
        trigram.next_token_probabilities([[1, 2], [3, 4.0]])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="vocab_size"):
        KneserNeyLM.fit([[0, 1]], vocab_size=0)


def test_no_training_tokens_is_refused() -> None:
    for sequences in ([], [[], []]):
        with pytest.raises(ValueError, match="no training tokens"):
            KneserNeyLM.fit(sequences, vocab_size=5)


def test_an_unfitted_model_or_an_empty_score_says_so() -> None:
    with pytest.raises(RuntimeError, match="fit"):
        KneserNeyLM(3, vocab_size=5).logprob([1], 2)
    with pytest.raises(ValueError, match="no tokens"):
        _ = NgramScore(total_nll=0.0, tokens=0).perplexity


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_the_next_token_distribution_is_logprob_of_every_token_after_the_same_context(
    train: list[list[int]], held_out: list[list[int]], order: int
) -> None:
    lm = KneserNeyLM.fit(train, vocab_size=VOCAB, order=order)
    contexts = [[], [3], held_out[0][:2], held_out[1][:9], [36, 37, 38], [1, 2, 39, 5]]

    rows = lm.next_token_probabilities(contexts)

    assert rows.shape == (len(contexts), VOCAB)
    assert np.allclose(rows.sum(axis=1), 1.0)
    for context, row in zip(contexts, rows, strict=True):
        expected = [math.exp(lm.logprob(context, token)) for token in range(VOCAB)]
        assert np.allclose(row, expected, rtol=1e-12, atol=0)


def test_a_context_gets_the_same_distribution_alone_and_among_others(
    trigram: KneserNeyLM, held_out: list[list[int]]
) -> None:
    contexts = [[], [3], held_out[0][:5], held_out[1][:9], [1, 2, 39, 5]]

    together = trigram.next_token_probabilities(contexts)

    for context, row in zip(contexts, together, strict=True):
        assert np.array_equal(trigram.next_token_probabilities([context])[0], row)


def test_token_probabilities_are_what_score_sums(trigram: KneserNeyLM, held_out: list[list[int]]) -> None:
    probabilities = trigram.token_probabilities(held_out)

    assert len(probabilities) == trigram.score(held_out).tokens
    assert -np.log(probabilities).sum() == pytest.approx(trigram.score(held_out).total_nll, rel=1e-12)


def test_a_saved_model_loads_to_the_same_probabilities(
    trigram: KneserNeyLM, held_out: list[list[int]], tmp_path: Path
) -> None:
    trigram.save(tmp_path / "ngram.npz")

    loaded = KneserNeyLM.load(tmp_path / "ngram.npz")

    assert (loaded.order, loaded.vocab_size) == (3, VOCAB)
    assert loaded.score(held_out) == trigram.score(held_out)
    assert np.array_equal(
        loaded.next_token_probabilities([[4, 5]]), trigram.next_token_probabilities([[4, 5]])
    )
