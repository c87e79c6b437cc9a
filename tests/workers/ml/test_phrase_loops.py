"""The phrase-loop rules: Hugging Face's semantics, on the final mixed distribution of a real tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import NoRepeatNGramLogitsProcessor, RepetitionPenaltyLogitsProcessor

from workers.ml.generator import GenerationRequest, TextGenerator
from workers.ml.gpt2_decoding import DecodeRow, decode_rows, request_generator
from workers.ml.phrase_loops import PhraseLoopRules
from workers.model_store import ModelStore

PROMPTS = ("The market opened higher on Monday", "Shares in the company", "The new film")


@pytest.fixture(scope="module")
def generator(tiny_models_dir: Path) -> TextGenerator:
    return TextGenerator.load(ModelStore(tiny_models_dir).folder("generator"), "cpu")


def _repeated_ngrams(ids: list[int], size: int) -> list[tuple[int, ...]]:
    grams = [tuple(ids[i : i + size]) for i in range(len(ids) - size + 1)]
    return [gram for i, gram in enumerate(grams) if gram in grams[:i]]


def _decode(generator: TextGenerator, prompt: str, size: int, temperature: float, seed: int) -> list[int]:
    prompt_ids = generator.tokenizer(prompt)["input_ids"]
    budget = generator.context_size - len(prompt_ids) - 1
    sampler = request_generator(seed, "cpu") if temperature else None
    row = DecodeRow(prompt_ids, budget, temperature, 0.95, sampler, no_repeat_ngram_size=size)
    (new_ids,) = decode_rows(
        generator.forward, [row], generator.tokenizer.eos_token_id, "cpu", generator.mixture, generator.copy
    )
    return [*prompt_ids, *new_ids]


def test_the_tiny_generator_is_served_with_its_ngram_and_copying(generator: TextGenerator) -> None:
    # What the rules must hold against: the mixtures that can re-create a loop.
    assert generator.mixture is not None and generator.copy is not None


@pytest.mark.parametrize("size", [2, 3])
@pytest.mark.parametrize(("temperature", "seed"), [(0.0, 0), (1.0, 1), (1.0, 2)])
def test_the_no_repeat_rule_never_emits_a_repeated_ngram_of_its_size(
    generator: TextGenerator, size: int, temperature: float, seed: int
) -> None:
    for prompt in PROMPTS:
        ids = _decode(generator, prompt, size, temperature, seed)
        assert len(ids) > 3 * size  # long enough for a repeat to be possible
        assert _repeated_ngrams(ids, size) == []


def test_without_the_rule_greedy_decoding_of_the_tiny_model_repeats_itself(generator: TextGenerator) -> None:
    # The rule test above would prove nothing if the model never repeated anyway.
    assert any(_repeated_ngrams(_decode(generator, prompt, 0, 0.0, 0), 3) for prompt in PROMPTS)


def _with_rules(prompt: str, seed: int | None, **options: object) -> GenerationRequest:
    settings: dict[str, object] = {
        "max_new_tokens": 20,
        "temperature": 0.9,
        "top_p": 0.95,
        "seed": seed,
        "no_repeat_ngram_size": 3,
        "repetition_penalty": 1.3,
    }
    settings.update(options)
    return GenerationRequest(prompt, **settings)  # type: ignore[arg-type]


def test_a_seeded_request_with_the_rules_gives_the_same_text_alone_and_in_any_batch(
    generator: TextGenerator,
) -> None:
    target = _with_rules(PROMPTS[0], seed=42, num_return_sequences=2)
    others = [
        _with_rules(PROMPTS[1], seed=1, max_new_tokens=5, no_repeat_ngram_size=0),
        _with_rules(PROMPTS[2], seed=None, repetition_penalty=1.0),
        GenerationRequest(PROMPTS[2], max_new_tokens=12, temperature=0),
    ]
    alone = generator.generate_batch([target])[0]
    assert generator.generate_batch([*others, target])[-1] == alone
    assert generator.generate_batch([target, *others[::-1]])[0] == alone
    # The rules change the text: this request is not decoded as if they were off.
    plain = _with_rules(
        PROMPTS[0], seed=42, num_return_sequences=2, no_repeat_ngram_size=0, repetition_penalty=1.0
    )
    assert generator.generate_batch([plain])[0] != alone


@pytest.mark.parametrize(("size", "penalty"), [(2, 1.0), (0, 1.5), (3, 1.2)])
def test_greedy_decoding_with_the_rules_matches_hugging_face_generate(
    generator: TextGenerator, size: int, penalty: float
) -> None:
    for prompt in PROMPTS:
        request = GenerationRequest(
            prompt, max_new_tokens=30, temperature=0, no_repeat_ngram_size=size, repetition_penalty=penalty
        )
        hf = generator.generate(
            prompt,
            max_new_tokens=30,
            temperature=0,
            top_p=1.0,
            num_return_sequences=1,
            no_repeat_ngram_size=size,
            repetition_penalty=penalty,
        )
        assert generator.generate_batch([request])[0] == hf


def test_the_rules_score_as_the_hugging_face_processors_of_the_same_names() -> None:
    torch.manual_seed(0)
    vocab = 12
    histories = [[1, 2, 3, 1, 2], [4, 4, 4], [5, 6, 7, 8, 5, 6]]
    scores = torch.randn(len(histories), vocab) * 3  # positive and negative scores alike
    for size, penalty in ((2, 1.0), (1, 1.0), (3, 1.0), (0, 1.7), (2, 1.3)):
        rules = PhraseLoopRules(histories, [size] * 3, [penalty] * 3, vocab, "cpu")
        expected = scores.clone()
        input_ids = [torch.tensor([history]) for history in histories]
        for row, ids in enumerate(input_ids):
            if penalty != 1.0:
                expected[row] = RepetitionPenaltyLogitsProcessor(penalty)(ids, expected[row : row + 1])[0]
            if size:
                expected[row] = NoRepeatNGramLogitsProcessor(size)(ids, expected[row : row + 1])[0]
        assert torch.equal(rules.apply(scores, [0, 1, 2]), expected)
        # Live rows are addressed by their original index, whichever have left the batch.
        assert torch.equal(rules.apply(scores[[2, 0]], [2, 0]), expected[[2, 0]])


def test_a_recorded_token_counts_for_the_next_step() -> None:
    rules = PhraseLoopRules([[1, 2]], [2], [2.0], 5, "cpu")
    rules.record(0, 1)  # the row now ends "…, 2, 1": 1 was followed by 2, so 2 is banned
    scores = rules.apply(-torch.ones(1, 5), [0])
    assert scores[0].tolist() == [-1.0, -2.0, float("-inf"), -1.0, -1.0]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"no_repeat_ngram_size": -1}, "no_repeat_ngram_size"),
        ({"repetition_penalty": 0.0}, "repetition_penalty"),
    ],
)
def test_a_request_with_a_bad_rule_is_refused_naming_it(
    generator: TextGenerator, options: dict[str, float], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        generator.generate_batch([GenerationRequest("Hello", **options)])  # type: ignore[arg-type]
