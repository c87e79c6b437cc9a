from pathlib import Path

import pytest
import torch

from workers.ml.generator import GenerationRequest, TextGenerator
from workers.model_store import ModelStore

PROMPT = "Zebra quartz marmalade"


@pytest.fixture(scope="module")
def generator(tiny_models_dir: Path) -> TextGenerator:
    model = TextGenerator.load(ModelStore(tiny_models_dir).folder("generator"), "cpu")
    model.warm_up()
    return model


def _sample(generator: TextGenerator, prompt: str = PROMPT, **overrides: object) -> list[str]:
    options = {"max_new_tokens": 6, "temperature": 1.0, "top_p": 0.95, "num_return_sequences": 1, "seed": 7}
    options.update(overrides)
    return generator.generate(prompt, **options)


def test_returns_num_return_sequences_continuations_without_the_prompt(generator: TextGenerator) -> None:
    texts = _sample(generator, num_return_sequences=3)
    assert len(texts) == 3
    for text in texts:
        assert isinstance(text, str)
        assert PROMPT not in text
        assert text == text.strip()
        # At most max_new_tokens tokens (re-tokenising decoded text can merge, never multiply them much).
        assert len(generator.tokenizer(text)["input_ids"]) <= 2 * 6


def test_the_same_seed_gives_the_same_text(generator: TextGenerator) -> None:
    first = _sample(generator, seed=123, num_return_sequences=2)
    assert _sample(generator, seed=123, num_return_sequences=2) == first


def test_different_seeds_give_different_text(generator: TextGenerator) -> None:
    assert _sample(generator, seed=1, max_new_tokens=12) != _sample(generator, seed=2, max_new_tokens=12)


def test_seeded_generation_leaves_the_global_random_state_alone(generator: TextGenerator) -> None:
    before = torch.get_rng_state()
    _sample(generator, seed=5)
    assert torch.equal(before, torch.get_rng_state())


def test_temperature_zero_is_greedy_and_repeats_the_one_sequence(generator: TextGenerator) -> None:
    first = _sample(generator, temperature=0, seed=None, num_return_sequences=3, max_new_tokens=8)
    second = _sample(generator, temperature=0, seed=None, num_return_sequences=1, max_new_tokens=8)
    assert first == [second[0]] * 3


def test_a_prompt_longer_than_the_context_keeps_its_end(generator: TextGenerator) -> None:
    long_prompt = "The market opened higher on Monday. " * 200  # far beyond the tiny context
    (text,) = _sample(generator, prompt=long_prompt, max_new_tokens=20)
    assert isinstance(text, str)


def test_an_empty_prompt_starts_from_end_of_text(generator: TextGenerator) -> None:
    assert len(_sample(generator, prompt="", num_return_sequences=2)) == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"max_new_tokens": 0},
        {"max_new_tokens": 256},  # the tiny context: no room left for the prompt
        {"temperature": -0.1},
        {"top_p": 0},
        {"num_return_sequences": 0},
    ],
)
def test_invalid_options_are_rejected(generator: TextGenerator, bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        _sample(generator, **bad)


def test_model_card_says_it_is_not_openai_gpt2(tiny_models_dir: Path) -> None:
    card = (ModelStore(tiny_models_dir).folder("generator") / "README.md").read_text()
    assert "NOT OpenAI's GPT-2 checkpoint" in card
    assert "Sample generations" in card


def test_generate_batch_serves_several_requests_from_the_built_model(generator: TextGenerator) -> None:
    requests = [
        GenerationRequest(PROMPT, max_new_tokens=6, temperature=0),
        GenerationRequest("The market", max_new_tokens=4, temperature=0.9, num_return_sequences=2, seed=1),
    ]
    first, second = generator.generate_batch(requests)
    assert len(first) == 1 and len(second) == 2
    assert generator.generate_batch(requests[1:]) == [second]


def test_the_built_replies_model_loads_and_replies(tiny_models_dir: Path) -> None:
    replier = TextGenerator.load(ModelStore(tiny_models_dir).folder("replies"), "cpu")
    assert replier.info.kind == "replies"
    assert isinstance(replier.reply("Where is my order?", max_new_tokens=8, seed=1), str)


def test_a_model_of_another_kind_is_refused(tiny_models_dir: Path) -> None:
    with pytest.raises(ValueError, match="'gpt2-base' model, not one of"):
        TextGenerator.load(ModelStore(tiny_models_dir).folder("gpt2-base"), "cpu")
