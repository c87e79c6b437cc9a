"""How texts are cut into forward passes (``workers/ml/loading.py``): by length, at most ``batch_size``
rows, and for the int8 runtime at most ``BATCH_TOKENS`` padded tokens, so long texts go fewer at a time."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from workers.ml.embedding import minilm_path
from workers.ml.int8_runtime import BATCH_TOKENS, int8_batches
from workers.ml.loading import length_ordered_batches

SHORT = [f"refund {i}" for i in range(40)]
LONG = ["profits keep rising " * 60 for _ in range(12)]  # truncated to 128 tokens each


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)


def _padded_sizes(batches: list[tuple[list[int], list[list[int]]]]) -> list[int]:
    return [len(ids) * max(len(row) for row in ids) for _, ids in batches]


def test_every_text_is_in_exactly_one_batch_shortest_first(tokenizer) -> None:
    texts = [*LONG, *SHORT]
    batches = list(length_ordered_batches(tokenizer, texts, 128, batch_size=16, max_tokens=512))

    rows = [row for batch_rows, _ in batches for row in batch_rows]
    assert sorted(rows) == list(range(len(texts)))
    lengths = [len(ids) for _, batch in batches for ids in batch]
    assert lengths == sorted(lengths)


def test_the_token_cap_puts_long_texts_fewer_to_a_batch_than_short_ones(tokenizer) -> None:
    batches = list(length_ordered_batches(tokenizer, [*LONG, *SHORT], 128, batch_size=16, max_tokens=512))

    assert all(size <= 512 for size in _padded_sizes(batches))
    long_batches = [ids for _, ids in batches if len(ids[0]) == 128]
    assert [len(ids) for ids in long_batches] == [4, 4, 4]
    # Short texts still fill whole batches of rows: the cap is not what limits them.
    assert max(len(ids) for _, ids in batches) == 16


def test_without_a_cap_only_the_row_count_limits_a_batch(tokenizer) -> None:
    batches = list(length_ordered_batches(tokenizer, LONG, 128, batch_size=16))

    assert [len(rows) for rows, _ in batches] == [12]


def test_a_text_longer_than_the_cap_alone_still_gets_a_batch(tokenizer) -> None:
    batches = list(length_ordered_batches(tokenizer, LONG[:2], 128, batch_size=16, max_tokens=100))

    assert [len(rows) for rows, _ in batches] == [1, 1]


def test_the_int8_runtime_batches_under_its_token_cap(tokenizer) -> None:
    batches = list(int8_batches(tokenizer, [*LONG, *SHORT], 128, 64))

    assert all(size <= BATCH_TOKENS for size in _padded_sizes(batches))


def test_a_batch_size_below_one_is_refused(tokenizer) -> None:
    with pytest.raises(ValueError, match="batch size must be at least 1"):
        list(length_ordered_batches(tokenizer, SHORT, 128, batch_size=0))
