"""GPT-2's forward pass for decoding gives the logits of the model's own forward, step after step."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from transformers import BertConfig, BertForMaskedLM, DynamicCache, GPT2Config, GPT2LMHeadModel

from workers.ml.gpt2_forward import Gpt2Forward
from workers.ml.gpt2_int8 import quantize_linear_layers

VOCAB = 97


def _model(**options: Any) -> GPT2LMHeadModel:
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=VOCAB, n_positions=40, n_embd=32, n_layer=3, n_head=4, **options)
    return GPT2LMHeadModel(config).eval()


def _left_padded() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Three prompts of 6, 2 and 4 tokens, left-padded to 6 with junk ids (the mask hides them)."""
    torch.manual_seed(1)
    input_ids = torch.randint(0, VOCAB, (3, 6))
    attention_mask = torch.ones(3, 6, dtype=torch.long)
    attention_mask[1, :4] = 0
    attention_mask[2, :2] = 0
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    return input_ids, attention_mask, position_ids


def _decode_both(
    model: GPT2LMHeadModel, prompts: tuple[torch.Tensor, torch.Tensor, torch.Tensor], steps: int = 5
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The logits of the prompt pass and of ``steps`` greedy steps, from the model's forward and from
    ``Gpt2Forward``; after the second step a batch's middle row leaves it, as a finished row does."""
    input_ids, attention_mask, position_ids = prompts
    ours = Gpt2Forward(model)
    with torch.inference_mode():
        hf_cache = DynamicCache(config=model.config)
        hf_logits = model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=hf_cache,
            use_cache=True,
        ).logits[:, -1]
        our_logits, our_cache = ours.prompt(input_ids, attention_mask, position_ids)
        theirs, mine = [hf_logits], [our_logits]
        tokens, positions = hf_logits.argmax(-1), position_ids[:, -1] + 1
        for step in range(steps):
            if step == 2 and len(tokens) == 3:
                kept = torch.tensor([0, 2])
                hf_cache.batch_select_indices(kept)
                our_cache.keep_rows(kept)
                tokens, attention_mask, positions = tokens[kept], attention_mask[kept], positions[kept]
            attention_mask = torch.cat([attention_mask, attention_mask.new_ones(len(tokens), 1)], dim=1)
            hf_logits = model(
                input_ids=tokens[:, None],
                attention_mask=attention_mask,
                position_ids=positions[:, None],
                cache=hf_cache,
                use_cache=True,
            ).logits[:, -1]
            theirs.append(hf_logits)
            mine.append(ours.step(tokens, attention_mask, positions, our_cache))
            tokens, positions = hf_logits.argmax(-1), positions + 1
    return theirs, mine


@pytest.mark.parametrize(
    "options",
    [
        {},  # GPT-2's own: gelu_new, 1/sqrt(head size)
        {"activation_function": "relu", "n_inner": 48},
        {"scale_attn_by_inverse_layer_idx": True, "layer_norm_epsilon": 1e-3},
    ],
)
def test_the_logits_are_the_models_own_for_padded_prompts_and_every_step(options: dict[str, Any]) -> None:
    theirs, mine = _decode_both(_model(**options), _left_padded())
    assert [tuple(logits.shape) for logits in mine] == [(3, VOCAB)] * 3 + [(2, VOCAB)] * 3
    for hf_logits, our_logits in zip(theirs, mine, strict=True):
        assert torch.isfinite(our_logits).all()
        torch.testing.assert_close(our_logits, hf_logits, rtol=1e-4, atol=1e-5)


def test_int8_projections_are_called_as_the_modules_they_are() -> None:
    model = _model()
    quantized = quantize_linear_layers(copy.deepcopy(model)).eval()
    theirs, mine = _decode_both(quantized, _left_padded(), steps=3)
    floats, _ = _decode_both(model, _left_padded(), steps=3)
    for hf_logits, our_logits, float_logits in zip(theirs, mine, floats, strict=True):
        # Close, not equal: dynamic int8 rounds each projection's input on a scale taken from the whole
        # input, so a float difference of 1e-7 (padding positions, the GELU's formula) can move a value
        # to the next step of 8 bits.
        torch.testing.assert_close(our_logits, hf_logits, rtol=0, atol=0.05)
        assert not torch.allclose(our_logits, float_logits, rtol=1e-4, atol=1e-5)  # int8, not the floats


def test_a_model_that_is_not_gpt2_is_refused() -> None:
    config = BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=1, num_attention_heads=2)
    with pytest.raises(TypeError, match="GPT2LMHeadModel"):
        Gpt2Forward(BertForMaskedLM(config))  # type: ignore[arg-type]
