"""int8 linear layers for GPT-2 (a measured lever, off by default): the same model, only quantized."""

from __future__ import annotations

import copy

import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel
from transformers.pytorch_utils import Conv1D

from workers.ml.gpt2_int8 import quantize_linear_layers


def test_every_projection_is_int8_and_the_next_token_scores_stay_close() -> None:
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=300, n_positions=32, n_embd=64, n_layer=2, n_head=2)
    model = GPT2LMHeadModel(config).eval()
    quantized = quantize_linear_layers(copy.deepcopy(model)).eval()

    assert not any(isinstance(module, Conv1D | nn.Linear) for module in quantized.modules())
    input_ids = torch.randint(0, 300, (3, 12))
    with torch.inference_mode():
        full = torch.log_softmax(model(input_ids=input_ids).logits, dim=-1)
        int8 = torch.log_softmax(quantized(input_ids=input_ids).logits, dim=-1)
    # Close but not equal: the weights really are rounded to 8 bits.
    assert not torch.equal(full, int8)
    assert torch.nn.functional.cosine_similarity(full.exp(), int8.exp(), dim=-1).min() > 0.99
    # The embedding the output layer was tied to is untouched.
    assert torch.equal(quantized.transformer.wte.weight, model.transformer.wte.weight)
