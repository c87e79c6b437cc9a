"""GPT-2's forward pass for decoding, written on a ``GPT2LMHeadModel``'s own weights.

Why not ``model(...)``: the GPT-2s this project trains are small (2 to 4 layers, width 128 to 192), so
a decoding step's forward pass is mostly the Python around a few small matrix products, and Hugging
Face's ``GPT2Model`` adds a good deal of it at every step: a 4-D mask built from the 2-D one, a cache
object, a module call per projection, activation and dropout, and output records. Here a layer is a
dozen torch calls on the same parameters (docs/generation.md, "The forward pass"), and the logits are
the model's own to float rounding (tests/workers/ml/test_gpt2_forward.py compares them).

Only what decoding needs: the model in eval mode (no dropout), the logits of each row's last position,
and a cache of keys and values that grows one token a step and can drop finished rows. Projections
that are not GPT-2's ``Conv1D`` (say, int8 ``Linear`` layers from workers/ml/gpt2_int8.py) are called
as the modules they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import GPT2LMHeadModel
from transformers.activations import ACT2FN
from transformers.pytorch_utils import Conv1D

Projection = Callable[[torch.Tensor], torch.Tensor]  # (tokens, in) -> (tokens, out)


def _projection(module: torch.nn.Module) -> Projection:
    if isinstance(module, Conv1D):
        # What Conv1D.forward does, without its module call and reshapes: inputs here are 2-D already.
        weight, bias = module.weight, module.bias
        return lambda x: torch.addmm(bias, x, weight)
    return module


def _activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        # GPT-2's tanh approximation of GELU in one fused call; Hugging Face's "gelu_new" spells the same
        # formula out in seven.
        return lambda x: F.gelu(x, approximate="tanh")
    return ACT2FN[name]


@dataclass(frozen=True)
class _Layer:
    ln_1: tuple[torch.Tensor, torch.Tensor]
    qkv: Projection
    out: Projection
    ln_2: tuple[torch.Tensor, torch.Tensor]
    up: Projection
    down: Projection
    scaling: float


class KeyValueCache:
    """Each layer's keys and values so far, (rows, heads, tokens, head size), in the rows' batch order."""

    def __init__(self, layers: int) -> None:
        self.keys: list[torch.Tensor | None] = [None] * layers
        self.values: list[torch.Tensor | None] = [None] * layers

    def extend(
        self, layer: int, keys: torch.Tensor, values: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this step's keys and values to the layer's; return all of them."""
        old_keys, old_values = self.keys[layer], self.values[layer]
        if old_keys is not None and old_values is not None:
            keys, values = torch.cat([old_keys, keys], dim=2), torch.cat([old_values, values], dim=2)
        self.keys[layer], self.values[layer] = keys, values
        return keys, values

    def keep_rows(self, rows: torch.Tensor) -> None:
        """Keep only these rows (indices into the current batch), in this order."""
        self.keys = [None if keys is None else keys.index_select(0, rows) for keys in self.keys]
        self.values = [None if values is None else values.index_select(0, rows) for values in self.values]


class Gpt2Forward:
    """A GPT-2 language model's logits for decoding: the prompts once, then one new token per row a step."""

    def __init__(self, model: GPT2LMHeadModel) -> None:
        if not isinstance(model, GPT2LMHeadModel):
            raise TypeError(f"Gpt2Forward decodes GPT2LMHeadModel models, not {type(model).__name__}")
        config = model.config
        if config.add_cross_attention:
            raise ValueError("Gpt2Forward decodes GPT-2 without cross-attention")
        self.model = model
        self.vocab_size = int(config.vocab_size)
        transformer = model.transformer
        self._embedding, self._positions = transformer.wte.weight, transformer.wpe.weight
        self._ln_f = (transformer.ln_f.weight, transformer.ln_f.bias)
        self._head = model.lm_head
        self._width = int(config.n_embd)
        self._heads = int(config.n_head)
        self._eps = float(config.layer_norm_epsilon)
        self._activation = _activation(config.activation_function)
        self._layers = [
            _Layer(
                ln_1=(block.ln_1.weight, block.ln_1.bias),
                qkv=_projection(block.attn.c_attn),
                out=_projection(block.attn.c_proj),
                ln_2=(block.ln_2.weight, block.ln_2.bias),
                up=_projection(block.mlp.c_fc),
                down=_projection(block.mlp.c_proj),
                # The model's own factor: 1/sqrt(head size), and 1/(layer + 1) where the config asks for it.
                scaling=float(block.attn.scaling),
            )
            for block in transformer.h
        ]

    def prompt(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor
    ) -> tuple[torch.Tensor, KeyValueCache]:
        """The next-token logits (rows, vocabulary) after left-padded prompts, and the cache they filled.

        ``attention_mask`` is 1 on real tokens and 0 on padding. A real token sees the real tokens up to
        itself; a padding position sees only itself, so that its (unused) output stays finite instead of
        attending to nothing, which would turn it, and then the keys of the next layer, into NaN.
        """
        width = input_ids.shape[1]
        causal = torch.ones((width, width), dtype=torch.bool, device=input_ids.device).tril()
        itself = torch.eye(width, dtype=torch.bool, device=input_ids.device)
        mask = (causal & attention_mask.bool()[:, None, :]) | itself
        cache = KeyValueCache(len(self._layers))
        return self._forward(input_ids, position_ids, mask[:, None], cache), cache

    def step(
        self,
        tokens: torch.Tensor,
        attention_mask: torch.Tensor,
        positions: torch.Tensor,
        cache: KeyValueCache,
    ) -> torch.Tensor:
        """The next-token logits (rows, vocabulary) after one new token per row.

        ``tokens`` and ``positions`` are (rows,); ``attention_mask`` (rows, tokens so far, this one
        included) marks every row's real tokens, as for ``prompt``."""
        return self._forward(
            tokens[:, None], positions[:, None], attention_mask.bool()[:, None, None, :], cache
        )

    def _forward(
        self, input_ids: torch.Tensor, position_ids: torch.Tensor, mask: torch.Tensor, cache: KeyValueCache
    ) -> torch.Tensor:
        rows, length = input_ids.shape
        width, heads = self._width, self._heads
        hidden = F.embedding(input_ids, self._embedding) + F.embedding(position_ids, self._positions)
        hidden = hidden.view(rows * length, width)
        for index, layer in enumerate(self._layers):
            normed = F.layer_norm(hidden, (width,), *layer.ln_1, self._eps)
            qkv = layer.qkv(normed).view(rows, length, 3, heads, width // heads).permute(2, 0, 3, 1, 4)
            query, keys, values = qkv.unbind(0)
            keys, values = cache.extend(index, keys, values)
            attended = F.scaled_dot_product_attention(
                query, keys, values, attn_mask=mask, scale=layer.scaling
            )
            hidden = hidden + layer.out(attended.transpose(1, 2).reshape(rows * length, width))
            normed = F.layer_norm(hidden, (width,), *layer.ln_2, self._eps)
            hidden = hidden + layer.down(self._activation(layer.up(normed)))
        last = hidden.view(rows, length, width)[:, -1]
        return self._head(F.layer_norm(last, (width,), *self._ln_f, self._eps))
