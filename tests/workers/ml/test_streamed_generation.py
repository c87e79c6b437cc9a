"""Text streamed while a batch decodes: the pieces each listener hears add up to the text the batch
returns (up to a last partial character), in order, for every request and sequence sharing the batch;
and streaming changes no text."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest
from transformers import GPT2TokenizerFast

from tests.support.tiny_generator import tiny_generator
from workers.ml.generator import REPLY_STOPS, GenerationRequest, TextGenerator, gpt2_tokenizer_path
from workers.ml.incremental_text import IncrementalText
from workers.ml.streamed_rows import ROWS_PER_INTERVAL, StreamedRows


class Heard:
    """A listener that keeps what it is told, per sequence."""

    def __init__(self) -> None:
        self.pieces: dict[int, list[str]] = defaultdict(list)

    def __call__(self, choice: int, text: str) -> None:
        self.pieces[choice].append(text)

    def texts(self, choices: int) -> list[str]:
        return ["".join(self.pieces[choice]) for choice in range(choices)]


@pytest.fixture(scope="module")
def tokenizer() -> GPT2TokenizerFast:
    return GPT2TokenizerFast.from_pretrained(gpt2_tokenizer_path(), local_files_only=True)


@pytest.fixture(scope="module")
def generator() -> TextGenerator:
    return tiny_generator()


def _streamed(
    tokenizer: GPT2TokenizerFast, ids: list[int], stops: tuple[str, ...] = (), every: int = 1
) -> list[str]:
    """The pieces heard when the text is taken after every ``every`` ids, and once at the end."""
    text = IncrementalText(tokenizer, stops)
    pieces = []
    for count, token in enumerate(ids, start=1):
        text.add(token)
        if count % every == 0:
            pieces.append(text.take())
    pieces.append(text.take())
    return [piece for piece in pieces if piece]


@pytest.mark.parametrize(
    "text",
    [
        "  Shares rose 3.5 % , then fell .\n\n",
        "café naïve 東京 😀 — emoji and accents split across tokens",
        "\n\n \n",
    ],
)
@pytest.mark.parametrize("every", [1, 3, 20])
def test_pieces_join_to_the_stripped_decode(tokenizer: GPT2TokenizerFast, text: str, every: int) -> None:
    ids = tokenizer(text)["input_ids"]

    pieces = _streamed(tokenizer, ids, every=every)

    assert "".join(pieces) == tokenizer.decode(ids).strip()
    assert all("\ufffd" not in piece for piece in pieces), "no half characters are sent"


def test_pieces_never_get_ahead_of_the_final_text_for_random_tokens(tokenizer: GPT2TokenizerFast) -> None:
    rng = random.Random(0)
    for _ in range(200):
        ids = [rng.randrange(len(tokenizer) - 1) for _ in range(rng.randrange(1, 40))]
        joined = "".join(_streamed(tokenizer, ids, every=rng.choice([1, 2, 7])))
        assert tokenizer.decode(ids).strip().startswith(joined)


def test_a_reply_stops_where_the_model_starts_the_customers_turn(tokenizer: GPT2TokenizerFast) -> None:
    ids = tokenizer(" Your refund is on its way.\nCustomer: thanks\nAgent: bye")["input_ids"]

    pieces = _streamed(tokenizer, ids, REPLY_STOPS)

    assert "".join(pieces) == "Your refund is on its way."


def test_a_stop_strings_start_is_held_back_until_it_is_not_one(tokenizer: GPT2TokenizerFast) -> None:
    ids = tokenizer("Done.\nCustomers love it")["input_ids"]

    assert "".join(_streamed(tokenizer, ids, REPLY_STOPS)) == "Done.\nCustomers love it"


def _batch_heard(
    generator: TextGenerator,
) -> tuple[list[GenerationRequest], list[Heard], list[list[str]]]:
    """A batch of three followed requests and one nobody follows: the requests, what each listener
    heard, and the texts returned, after checking that streaming changed no text."""
    plain = [
        GenerationRequest("The market opened", 24, 1.0, 0.9, 2, seed=1),
        GenerationRequest("Zebra", 16, 0.0, 1.0, 3),  # greedy: one row stands for three sequences
        GenerationRequest("Hi", 20, 0.8, 0.95, 1, seed=2),
    ]
    heard = [Heard() for _ in plain]
    followed = [
        GenerationRequest(
            r.prompt, r.max_new_tokens, r.temperature, r.top_p, r.num_return_sequences, r.seed, h
        )
        for r, h in zip(plain, heard, strict=True)
    ]
    unheard = GenerationRequest("Nobody listens", 12, 1.0, 0.9, 1, seed=3)

    texts = generator.generate_batch([*followed, unheard])

    assert texts == generator.generate_batch([*plain, unheard])
    return followed, heard, texts


@pytest.mark.parametrize("interval_s", [0.0, 3600.0])
def test_every_request_in_a_batch_hears_its_own_text_and_streaming_changes_none(
    generator: TextGenerator, monkeypatch: pytest.MonkeyPatch, interval_s: float
) -> None:
    monkeypatch.setattr(generator, "stream_interval_s", interval_s)

    followed, heard, texts = _batch_heard(generator)

    for request, listener, returned in zip(followed, heard, texts, strict=False):
        for streamed, final in zip(listener.texts(request.num_return_sequences), returned, strict=True):
            assert final.startswith(streamed) and len(final) - len(streamed) <= 1


def test_text_is_told_every_step_without_an_interval(
    generator: TextGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generator, "stream_interval_s", 0.0)

    _, heard, _ = _batch_heard(generator)

    assert sum(len(pieces) for pieces in heard[0].pieces.values()) > 4


def test_within_an_interval_a_row_hears_its_first_text_at_once_and_the_rest_when_the_batch_ends(
    generator: TextGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generator, "stream_interval_s", 3600.0)

    _, heard, _ = _batch_heard(generator)

    for listener in heard:
        for pieces in listener.pieces.values():
            assert 1 <= len(pieces) <= 2, pieces


@pytest.mark.parametrize(("rows", "interval_s"), [(1, 0.05), (ROWS_PER_INTERVAL, 0.05), (16, 0.2), (64, 0.8)])
def test_a_batch_following_more_rows_tells_each_row_less_often(
    tokenizer: GPT2TokenizerFast, rows: int, interval_s: float
) -> None:
    followed = {row: (Heard(), (0,)) for row in range(rows)}

    assert StreamedRows(tokenizer, (), followed, 0.05).interval_s == pytest.approx(interval_s)
