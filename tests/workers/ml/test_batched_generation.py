"""Batched decoding (generate_batch / decode_rows) on a tiny random-weight GPT-2: no training needed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

from tests.support.tiny_generator import EOS, tiny_generator
from workers.ml.generation_benchmark import measure_generation
from workers.ml.generator import GenerationRequest, TextGenerator
from workers.ml.gpt2_decoding import DecodeRow, decode_rows, request_generator
from workers.ml.gpt2_forward import Gpt2Forward
from workers.ml.reply_prompt import ReplyTemplate

PROMPTS = (
    "Hi",
    "The market opened higher on Monday after a long weekend of talks",
    "Zebra quartz marmalade",
    "A",
)


@pytest.fixture(scope="module")
def generator() -> TextGenerator:
    return tiny_generator()


@pytest.fixture
def forward_calls(
    generator: TextGenerator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[tuple[int, int]]]:
    """(batch size, new tokens a row) of every forward pass decoding makes during the test."""
    calls: list[tuple[int, int]] = []
    forward = generator.forward
    prompt, step = forward.prompt, forward.step

    def recording_prompt(input_ids: torch.Tensor, *args: Any) -> Any:
        calls.append(tuple(input_ids.shape))
        return prompt(input_ids, *args)

    def recording_step(tokens: torch.Tensor, *args: Any) -> Any:
        calls.append((len(tokens), 1))
        return step(tokens, *args)

    monkeypatch.setattr(forward, "prompt", recording_prompt)
    monkeypatch.setattr(forward, "step", recording_step)
    yield calls


def _greedy(prompt: str, max_new_tokens: int = 12) -> GenerationRequest:
    return GenerationRequest(prompt, max_new_tokens=max_new_tokens, temperature=0)


def _sampled(prompt: str, seed: int | None, **options: Any) -> GenerationRequest:
    settings: dict[str, Any] = {"max_new_tokens": 12, "temperature": 1.0, "top_p": 0.9, "seed": seed}
    settings.update(options)
    return GenerationRequest(prompt, **settings)


def _row(generator: TextGenerator, prompt: str, budget: int, temperature: float = 0.0) -> DecodeRow:
    ids = generator.tokenizer(prompt)["input_ids"]
    sampler = request_generator(0, "cpu") if temperature else None
    return DecodeRow(ids, budget, temperature, 1.0, sampler)


def test_batched_greedy_equals_each_prompt_decoded_alone_and_hf_generate(generator: TextGenerator) -> None:
    requests = [_greedy(prompt) for prompt in PROMPTS]  # 1 to 13 prompt tokens: real left padding
    batched = generator.generate_batch(requests)
    alone = [generator.generate_batch([request])[0] for request in requests]
    hf = [
        generator.generate(p, max_new_tokens=12, temperature=0, top_p=1.0, num_return_sequences=1)
        for p in PROMPTS
    ]
    assert batched == alone == hf
    assert len({texts[0] for texts in batched}) > 1  # the prompts really lead to different text


def test_a_seeded_request_gives_the_same_text_in_any_batch(generator: TextGenerator) -> None:
    target = _sampled(PROMPTS[1], seed=42, num_return_sequences=2)
    others = [_sampled(PROMPTS[0], seed=1, max_new_tokens=5), _greedy(PROMPTS[2]), _sampled(PROMPTS[3], None)]
    alone = generator.generate_batch([target])[0]
    assert generator.generate_batch([*others, target])[-1] == alone
    assert generator.generate_batch([target, *others[::-1]])[0] == alone
    assert generator.generate_batch([others[0], target])[1] == alone


def test_different_seeds_give_different_text(generator: TextGenerator) -> None:
    first, second = generator.generate_batch([_sampled(PROMPTS[1], seed=1), _sampled(PROMPTS[1], seed=2)])
    assert first != second


def test_seedless_sampling_leaves_the_global_random_state_alone(generator: TextGenerator) -> None:
    before = torch.get_rng_state()
    generator.generate_batch([_sampled(PROMPTS[0], seed=None), _sampled(PROMPTS[1], seed=3)])
    assert torch.equal(before, torch.get_rng_state())


def test_each_row_stops_at_its_own_max_new_tokens(generator: TextGenerator) -> None:
    rows = [_row(generator, prompt, budget) for prompt, budget in zip(PROMPTS, (1, 3, 7, 12), strict=True)]
    assert [len(ids) for ids in decode_rows(generator.forward, rows, EOS, "cpu")] == [1, 3, 7, 12]


def test_finished_rows_leave_the_batch_and_the_loop_ends_with_the_last(
    generator: TextGenerator, forward_calls: list[tuple[int, int]]
) -> None:
    rows = [_row(generator, PROMPTS[0], 2), _row(generator, PROMPTS[1], 5, temperature=1.0)]
    decode_rows(generator.forward, rows, EOS, "cpu")
    width = len(rows[1].prompt_ids)
    # One pass over the padded prompts (KV cache filled), then one token per live row per step.
    assert forward_calls == [(2, width), (2, 1), (1, 1), (1, 1), (1, 1)]


class _EosAfterTrigger(Gpt2Forward):
    """A GPT-2 that always answers <|endoftext|> right after ``trigger``: a row we can make stop early."""

    trigger = -1

    def step(self, tokens: torch.Tensor, *args: Any) -> torch.Tensor:
        logits = super().step(tokens, *args)
        logits[tokens == self.trigger, EOS] = 1e4
        return logits


def test_a_row_that_reaches_end_of_text_stops_while_the_others_continue(generator: TextGenerator) -> None:
    model = _EosAfterTrigger(generator.model)
    rows = [_row(generator, PROMPTS[1], 10), _row(generator, PROMPTS[2], 10)]
    free_running = decode_rows(model, rows, EOS, "cpu")  # trigger -1 never matches
    model.trigger = free_running[0][2]  # the first row's third token: it stops right after it
    assert model.trigger not in free_running[1]  # precondition: the other row never sees the trigger
    first, second = decode_rows(model, rows, EOS, "cpu")
    assert first == free_running[0][:3]
    assert second == free_running[1]


def test_greedy_requests_repeat_their_one_sequence(generator: TextGenerator) -> None:
    (texts,) = generator.generate_batch([GenerationRequest(PROMPTS[1], 8, 0.0, 1.0, num_return_sequences=3)])
    assert len(texts) == 3 and len(set(texts)) == 1


def test_sampled_requests_return_num_return_sequences_different_texts(generator: TextGenerator) -> None:
    (texts,) = generator.generate_batch([_sampled(PROMPTS[1], seed=5, num_return_sequences=3)])
    assert len(texts) == 3 and len(set(texts)) == 3
    assert all(text == text.strip() and PROMPTS[1] not in text for text in texts)


def test_a_tiny_top_p_samples_only_the_most_likely_token(generator: TextGenerator) -> None:
    nucleus_of_one = _sampled(PROMPTS[1], seed=9, top_p=1e-6)
    assert generator.generate_batch([nucleus_of_one]) == generator.generate_batch([_greedy(PROMPTS[1])])


def test_an_empty_prompt_and_an_overlong_prompt_are_decoded(generator: TextGenerator) -> None:
    long_prompt = "The market opened higher on Monday. " * 40  # far beyond 64 positions
    texts = generator.generate_batch([_greedy(""), _greedy(long_prompt, max_new_tokens=30)])
    assert [len(found) for found in texts] == [1, 1]


def test_no_requests_give_no_results(generator: TextGenerator) -> None:
    assert generator.generate_batch([]) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"max_new_tokens": 0},
        {"max_new_tokens": 256},  # the tiny context: no room left for the prompt
        {"temperature": -1},
        {"top_p": 0},
        {"num_return_sequences": 0},
    ],
)
def test_any_invalid_request_is_rejected_before_decoding(
    generator: TextGenerator, forward_calls: list[tuple[int, int]], bad: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        generator.generate_batch([_greedy(PROMPTS[0]), _sampled(PROMPTS[1], seed=1, **bad)])
    assert forward_calls == []


def test_reply_prompts_with_the_stored_template_and_drops_the_oldest_turns_to_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replier = tiny_generator("replies", ReplyTemplate().to_data())
    seen: list[GenerationRequest] = []
    real_generate_batch = replier.generate_batch

    def spy(requests: list[GenerationRequest]) -> list[list[str]]:
        seen.extend(requests)
        return real_generate_batch(requests)

    monkeypatch.setattr(replier, "generate_batch", spy)
    history = [(f"old question {i}", "an old reply " * 3) for i in range(6)]
    text = replier.reply(
        "Where is my  order?", history=history, context=["VIP customer"], max_new_tokens=20, seed=1
    )
    assert isinstance(text, str)
    (request,) = seen
    assert request.prompt.endswith("Customer: Where is my order?\nAgent:")
    assert len(replier.tokenizer(request.prompt)["input_ids"]) <= replier.context_size - 20
    assert "VIP customer" not in request.prompt  # context goes first, then the oldest turns
    assert "old question 5" in request.prompt and "old question 0" not in request.prompt
    assert replier.reply("Where is my order?", seed=4, max_new_tokens=8) == replier.reply(
        "Where is my order?", seed=4, max_new_tokens=8
    )


def test_reply_needs_a_replies_model(generator: TextGenerator) -> None:
    with pytest.raises(ValueError, match="replies"):
        generator.reply("Where is my order?")


def test_measure_generation_reports_both_paths(generator: TextGenerator) -> None:
    figures = measure_generation(generator, PROMPTS, concurrency=4, max_new_tokens=6)
    for path in ("batched", "sequential", "one_by_one"):
        assert figures[f"{path}_tokens"] > 0 and figures[f"{path}_tokens_per_s"] > 0
    assert figures["speedup"] > 0


def test_measure_generation_sums_its_rounds_of_the_same_requests(generator: TextGenerator) -> None:
    once = measure_generation(generator, PROMPTS, concurrency=2, max_new_tokens=4, rounds=1)
    twice = measure_generation(generator, PROMPTS, concurrency=2, max_new_tokens=4, rounds=2)

    for path in ("batched", "sequential", "one_by_one"):
        assert twice[f"{path}_tokens"] == 2 * once[f"{path}_tokens"]
    with pytest.raises(ValueError, match="rounds"):
        measure_generation(generator, PROMPTS, rounds=0)
