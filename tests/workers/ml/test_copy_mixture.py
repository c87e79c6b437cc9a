"""A model served with copying continues what its source says where the source holds the last tokens
written (a replies model: its prompt; a generator: its text so far), in the batched loop and in Hugging
Face's ``generate`` alike; its weights are chosen per match length on validation and travel in the
model's info."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

from training.gpt2.copy_weights import CopyScores, choose_copy
from training.gpt2.heldout import HeldOutText
from workers.ml.copy_mixture import INFO_KEY, CopyIndex, CopyMixture, CopySource
from workers.ml.generator import GenerationRequest, TextGenerator, gpt2_tokenizer_path
from workers.ml.info import ModelInfo

ANSWER = "Context: To cancel an order, open Order History and click Cancel Order.\n"
PROMPT = ANSWER + "Customer: how do I cancel?\nAgent: To cancel an order,"


@pytest.fixture(scope="module")
def tokenizer() -> GPT2TokenizerFast:
    return GPT2TokenizerFast.from_pretrained(gpt2_tokenizer_path(), local_files_only=True)


def _replier(tokenizer: GPT2TokenizerFast, copy: CopyMixture | None) -> TextGenerator:
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=128, n_embd=16, n_layer=1, n_head=1)
    info = ModelInfo(
        "replies", "t-1", "replies", "test", "random", "2025-01-01T00:00:00+00:00", 1, 0.0, "cpu", {}, {}
    )
    return TextGenerator(GPT2LMHeadModel(config), tokenizer, info, "cpu", copy=copy)


def test_the_index_finds_the_longest_suffix_the_prompt_holds_and_what_follows_it() -> None:
    index = CopyIndex([5, 6, 7, 5, 6, 8, 9], max_match=3)

    assert index.match([1, 5, 6]) == (2, {7: 0.5, 8: 0.5})  # "5 6" is followed by 7 once and 8 once
    assert index.match([7, 5, 6]) == (3, {8: 1.0})  # the longer match decides
    assert index.match([6, 8]) == (2, {9: 1.0})
    assert index.match([9]) == (0, {})  # the prompt's last token: nothing follows it there
    assert index.match([4, 4]) == (0, {})


def test_with_copying_near_certain_greedy_decoding_continues_the_prompt_in_both_loops(
    tokenizer: GPT2TokenizerFast,
) -> None:
    replier = _replier(tokenizer, CopyMixture(CopySource.PROMPT, (0.99, 0.99, 0.99)))

    [batched] = replier.generate_batch([GenerationRequest(PROMPT, max_new_tokens=8, temperature=0)])
    hugging_face = replier.generate(
        PROMPT, max_new_tokens=8, temperature=0, top_p=1.0, num_return_sequences=1
    )

    # The random transformer knows nothing; the words are the approved answer's.
    assert batched[0] == hugging_face[0]
    assert batched[0].startswith("open Order History and click Cancel Order.")


def test_without_a_match_or_with_zero_weights_the_transformer_decides_alone(
    tokenizer: GPT2TokenizerFast,
) -> None:
    request = GenerationRequest(PROMPT, max_new_tokens=6, temperature=0.8, top_p=0.95, seed=5)
    alone = _replier(tokenizer, None).generate_batch([request])
    assert _replier(tokenizer, CopyMixture(CopySource.PROMPT, (0.0, 0.0))).generate_batch([request]) == alone

    logits = torch.randn(1, len(tokenizer))
    index = CopyIndex(tokenizer(ANSWER)["input_ids"], max_match=2)
    unmatched = CopyMixture(CopySource.PROMPT, (0.5, 0.5)).log_probs(
        logits, [index], [[tokenizer.eos_token_id]]
    )
    assert torch.allclose(unmatched, torch.log_softmax(logits, -1), atol=1e-5)


def test_copying_is_a_distribution_between_the_transformer_and_the_prompt(
    tokenizer: GPT2TokenizerFast,
) -> None:
    logits = torch.randn(1, len(tokenizer))
    prompt = tokenizer(ANSWER)["input_ids"]
    history = tokenizer(" open Order")["input_ids"]
    mixed = (
        CopyMixture(CopySource.PROMPT, (0.1, 0.3))
        .log_probs(logits, [CopyIndex(prompt, 2)], [history])
        .exp()[0]
    )

    expected = 0.7 * torch.softmax(logits, -1)[0]
    expected[tokenizer(" History")["input_ids"][0]] += 0.3  # "open Order" is followed only by " History"
    assert torch.allclose(mixed, expected, atol=1e-6)
    assert torch.isclose(mixed.sum(), torch.tensor(1.0), atol=1e-5)


def test_a_seeded_request_samples_the_same_text_alone_and_in_a_batch(tokenizer: GPT2TokenizerFast) -> None:
    replier = _replier(tokenizer, CopyMixture(CopySource.PROMPT, (0.2, 0.5, 0.7)))
    request = GenerationRequest(PROMPT, max_new_tokens=10, temperature=0.9, top_p=0.95, seed=11)
    other = GenerationRequest("Customer: hello\nAgent:", max_new_tokens=4, temperature=1.2, top_p=0.9, seed=2)

    assert replier.generate_batch([request]) == replier.generate_batch([other, request])[1:]


def test_each_match_length_gets_the_weight_its_own_validation_tokens_like_best() -> None:
    # Length 1: the prompt never predicts the token (copy 0), so copying there only costs likelihood.
    # Length 2: it always does, where the transformer gives the token 1 %.
    lengths = np.array([0, 1, 1, 2, 2, 2])
    copy_p = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    neural_logp = np.log(np.array([0.5, 0.4, 0.4, 0.01, 0.01, 0.01]))
    held_out = HeldOutText([], gpt2_tokens=6, utf8_bytes=24)
    scores = CopyScores(CopySource.PROMPT, neural_logp, lengths, copy_p, held_out)

    copy = choose_copy(scores, max_match=3)

    assert copy.weights[0] == 0.0 and copy.weights[1] == 0.99 and copy.weights[2] == 0.0  # no length-3 tokens
    assert scores.mixed(copy).nll < scores.base.nll


def test_the_weights_round_trip_through_the_info_and_bad_ones_are_refused() -> None:
    copy = CopyMixture(CopySource.PROMPT, (0.05, 0.2, 0.31))

    assert CopyMixture.load({INFO_KEY: copy.to_data()}) == copy
    assert CopyMixture.load({INFO_KEY: {"source": "text", "weights": [0.1]}}) == CopyMixture(
        CopySource.TEXT, (0.1,)
    )
    with pytest.raises(ValueError, match="malformed"):
        CopyMixture.load({INFO_KEY: {"source": "elsewhere", "weights": [0.1]}})
    assert CopyMixture.load({}) is None
    with pytest.raises(ValueError, match="malformed"):
        CopyMixture.load({INFO_KEY: {"weights": "high"}})
    with pytest.raises(ValueError, match=r"in \[0, 1\)"):
        CopyMixture(CopySource.PROMPT, (0.5, 1.0))
    with pytest.raises(ValueError, match="at least one"):
        CopyMixture(CopySource.PROMPT, ())


def test_copying_from_the_text_so_far_also_copies_what_was_generated_and_the_prompt_alone_does_not() -> None:
    ids = [1, 2, 3, 1, 2, 3]

    lengths, probabilities = CopyMixture(CopySource.TEXT, (0.5, 0.5, 0.5)).target_probabilities(ids, 1)
    # The second "1 2 3" follows the first: "1" then "1 2" are matched, each always followed as now.
    assert lengths.tolist() == [0, 0, 0, 1, 2] and probabilities.tolist() == [0, 0, 0, 1, 1]

    lengths, probabilities = CopyMixture(CopySource.PROMPT, (0.5, 0.5, 0.5)).target_probabilities(ids, 1)
    assert lengths.tolist() == [0] * 5 and probabilities.tolist() == [0] * 5


def test_a_generator_copying_from_its_own_text_decodes_alike_in_both_loops(
    tokenizer: GPT2TokenizerFast,
) -> None:
    generator = _replier(tokenizer, CopyMixture(CopySource.TEXT, (0.99, 0.99, 0.99)))
    prompt = "Shares rose. Shares fell. Shares"

    [batched] = generator.generate_batch([GenerationRequest(prompt, max_new_tokens=10, temperature=0)])
    hugging_face = generator.generate(
        prompt, max_new_tokens=10, temperature=0, top_p=1.0, num_return_sequences=1
    )

    assert batched[0] == hugging_face[0]
    # "Shares" is followed by " rose" and " fell" alike, so either may come; then the text repeats
    # itself: nothing but the prompt's own words, from a transformer with random weights.
    assert len(batched[0].split()) >= 4 and set(batched[0].replace(".", "").split()) <= {
        "rose",
        "fell",
        "Shares",
    }
