"""A generator served with its n-gram samples from the interpolation, in the batched loop and in Hugging
Face's ``generate`` alike, and a model folder carries the n-gram and its weight."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

from workers.ml.generator import GenerationRequest, TextGenerator, gpt2_tokenizer_path
from workers.ml.info import ModelInfo
from workers.ml.kneser_ney import KneserNeyLM
from workers.ml.ngram_mixture import INFO_KEY, NgramMixture

TEXTS = [
    "The market opened higher on Monday. The market closed lower on Tuesday.",
    "Shares in the company rose after the results. Shares in the bank fell.",
]


@pytest.fixture(scope="module")
def tokenizer() -> GPT2TokenizerFast:
    return GPT2TokenizerFast.from_pretrained(gpt2_tokenizer_path(), local_files_only=True)


@pytest.fixture(scope="module")
def ngram(tokenizer: GPT2TokenizerFast) -> KneserNeyLM:
    return KneserNeyLM.fit(tokenizer(TEXTS)["input_ids"], vocab_size=len(tokenizer), order=3)


def _generator(tokenizer: GPT2TokenizerFast, mixture: NgramMixture | None) -> TextGenerator:
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=16, n_layer=1, n_head=1)
    info = ModelInfo(
        "generator", "t-1", "generator", "test", "random", "2025-01-01T00:00:00+00:00", 1, 0.0, "cpu", {}, {}
    )
    return TextGenerator(GPT2LMHeadModel(config), tokenizer, info, "cpu", mixture)


def _ngram_greedy(ngram: KneserNeyLM, prompt_ids: list[int], steps: int, eos: int) -> list[int]:
    history, found = list(prompt_ids), []
    for _ in range(steps):
        token = int(np.argmax(ngram.next_token_probabilities([history])[0]))
        if token == eos:
            break
        history.append(token)
        found.append(token)
    return found


def test_with_all_weight_on_the_ngram_greedy_decoding_follows_the_ngram_in_both_loops(
    tokenizer: GPT2TokenizerFast, ngram: KneserNeyLM
) -> None:
    generator = _generator(tokenizer, NgramMixture(ngram, weight=0.0))
    prompt = "The market"
    expected = tokenizer.decode(
        _ngram_greedy(ngram, tokenizer(prompt)["input_ids"], 8, tokenizer.eos_token_id)
    )

    [batched] = generator.generate_batch([GenerationRequest(prompt, max_new_tokens=8, temperature=0)])
    hugging_face = generator.generate(
        prompt, max_new_tokens=8, temperature=0, top_p=1.0, num_return_sequences=1
    )

    assert expected.strip() == batched[0] == hugging_face[0]
    assert expected.strip().startswith("opened higher on")  # what the n-gram learnt, not the random model


def test_with_all_weight_on_the_transformer_nothing_changes(
    tokenizer: GPT2TokenizerFast, ngram: KneserNeyLM
) -> None:
    request = GenerationRequest("Shares in", max_new_tokens=6, temperature=0.8, top_p=0.95, seed=5)
    alone = _generator(tokenizer, None).generate_batch([request])
    mixed = _generator(tokenizer, NgramMixture(ngram, weight=1.0)).generate_batch([request])
    assert mixed == alone


def test_a_seeded_request_samples_the_same_text_alone_and_in_a_batch(
    tokenizer: GPT2TokenizerFast, ngram: KneserNeyLM
) -> None:
    generator = _generator(tokenizer, NgramMixture(ngram, weight=0.5))
    request = GenerationRequest("The market", max_new_tokens=10, temperature=0.9, top_p=0.95, seed=11)
    other = GenerationRequest("Shares in the company", max_new_tokens=4, temperature=1.2, top_p=0.9, seed=2)

    assert generator.generate_batch([request]) == generator.generate_batch([other, request])[1:]


def test_the_mixture_is_a_distribution_between_its_two_halves(
    tokenizer: GPT2TokenizerFast, ngram: KneserNeyLM
) -> None:
    logits = torch.randn(2, len(tokenizer))
    histories = [tokenizer("The market")["input_ids"], []]
    mixed = NgramMixture(ngram, weight=0.3).log_probs(logits, histories).exp()

    expected = 0.3 * torch.softmax(logits, -1) + 0.7 * torch.from_numpy(
        ngram.next_token_probabilities(histories)
    )
    assert torch.allclose(mixed, expected.float(), atol=1e-6)
    assert torch.allclose(mixed.sum(-1), torch.ones(2), atol=1e-5)


def test_a_folder_records_and_loads_its_mixture_and_a_folder_without_one_serves_the_transformer(
    ngram: KneserNeyLM, tmp_path: Path
) -> None:
    mixture = NgramMixture(ngram, weight=0.42)
    mixture.save(tmp_path)

    loaded = NgramMixture.load(tmp_path, {INFO_KEY: mixture.to_data()})

    assert loaded is not None and loaded.weight == 0.42 and loaded.ngram.order == 3
    assert NgramMixture.load(tmp_path, {}) is None
    with pytest.raises(FileNotFoundError, match="gone.npz"):
        NgramMixture.load(tmp_path, {INFO_KEY: {"order": 3, "weight": 0.5, "file": "gone.npz"}})
    with pytest.raises(ValueError, match="weight must be in"):
        NgramMixture(ngram, weight=1.5)
