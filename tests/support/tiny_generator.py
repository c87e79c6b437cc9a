"""A tiny GPT-2 with random weights and the real GPT-2 tokenizer, served as a generator: decoding
tests need no training."""

from __future__ import annotations

import torch
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

from workers.ml.generator import TextGenerator, gpt2_tokenizer_path
from workers.ml.info import ModelInfo

EOS = 50256


def tiny_generator(kind: str = "generator", data: dict[str, object] | None = None) -> TextGenerator:
    torch.manual_seed(0)
    tokenizer = GPT2TokenizerFast.from_pretrained(gpt2_tokenizer_path(), local_files_only=True)
    # A large initialiser range makes the random model's distributions peaked, like a trained one's,
    # instead of nearly uniform.
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=64,
        n_embd=32,
        n_layer=2,
        n_head=2,
        initializer_range=1.0,
        bos_token_id=EOS,
        eos_token_id=EOS,
        pad_token_id=EOS,
    )
    info = ModelInfo(
        kind, "test-1", kind, "test", "random", "2025-01-01T00:00:00+00:00", 1, 0.0, "cpu", {}, data or {}
    )
    return TextGenerator(GPT2LMHeadModel(config), tokenizer, info, "cpu")
