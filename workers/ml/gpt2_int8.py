"""GPT-2 with int8 linear layers on CPU: torch's dynamic quantization (weights int8, activations
quantized per batch at run time).

Hugging Face's GPT-2 writes its attention and MLP projections as ``Conv1D`` (a linear layer with its
weight transposed), which ``quantize_dynamic`` does not recognise; they are rewritten as ``nn.Linear``
first, holding exactly the same weights, so every projection and the output layer run in int8.
It is a measured lever that serving does not use: on a model this small the decoding step spends
little in matrix products, so int8 bought little (docs/generation.md, "int8 linear layers").
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.pytorch_utils import Conv1D


def _as_linear(conv: Conv1D) -> nn.Linear:
    in_features, out_features = conv.weight.shape
    linear = nn.Linear(in_features, out_features, bias=conv.bias is not None)
    with torch.no_grad():
        linear.weight.copy_(conv.weight.t())
        if conv.bias is not None:
            linear.bias.copy_(conv.bias)
    return linear


def quantize_linear_layers(model: PreTrainedModel) -> PreTrainedModel:
    """``model`` (on CPU, in eval mode) with every linear projection in dynamic int8."""
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, Conv1D):
                setattr(module, name, _as_linear(child))
    if getattr(model, "lm_head", None) is not None:
        # The output layer shares its weight with the token embedding; quantizing it gives it an int8
        # copy of its own and leaves the embedding in float.
        head = model.lm_head
        untied = nn.Linear(head.in_features, head.out_features, bias=head.bias is not None)
        with torch.no_grad():
            untied.weight.copy_(head.weight)
            if head.bias is not None:
                untied.bias.copy_(head.bias)
        model.lm_head = untied
    return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
