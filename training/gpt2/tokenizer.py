"""The vocabulary a pre-trained GPT-2 base gets: a byte-level BPE learnt from its own training text.

GPT-2's 50,257-token output layer is most of a small model's parameters and most of its compute per
token on a CPU. A BPE of a few thousand tokens learnt from the training corpora keeps nearly all of
the compression (the same text takes only some 8 % more tokens at 8,192 than with GPT-2's vocabulary)
and lets the model train several times faster.

It is GPT-2's scheme with a smaller merge table: the same pre-tokenising regex, the same byte-to-
unicode alphabet (all 256 bytes are tokens, so any text encodes, emoji and control characters
included), no normalisation and ``<|endoftext|>`` as the only special token. Decoding what was
encoded therefore gives back the exact text, as with GPT-2's own tokenizer. The result is an ordinary
``GPT2TokenizerFast`` saved into the model folder, so serving loads it with ``AutoTokenizer`` like any
other and needs no mapping of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cache

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2TokenizerFast

from workers.ml.generator import gpt2_tokenizer_path

log = logging.getLogger(__name__)

END_OF_TEXT = "<|endoftext|>"
# The 256 byte tokens and <|endoftext|> come first; a vocabulary must leave room for merges too.
MIN_VOCAB_SIZE = 512


@cache
def gpt2_reference_tokenizer() -> GPT2TokenizerFast:
    """OpenAI's GPT-2 tokenizer: the unit held-out perplexities are stated in, whatever a model uses."""
    return GPT2TokenizerFast.from_pretrained(gpt2_tokenizer_path(), local_files_only=True)


def train_corpus_tokenizer(texts: Iterable[str], vocab_size: int) -> GPT2TokenizerFast:
    """A byte-level BPE of ``vocab_size`` tokens (``<|endoftext|>`` is id 0) learnt from ``texts``.

    Only training text may be passed: held-out text that shaped the merges would be scored with a
    vocabulary fitted to it.
    """
    if vocab_size < MIN_VOCAB_SIZE:
        raise ValueError(f"vocab_size must be at least {MIN_VOCAB_SIZE}, got {vocab_size}")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[END_OF_TEXT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    tokenizer = GPT2TokenizerFast(
        tokenizer_object=bpe, bos_token=END_OF_TEXT, eos_token=END_OF_TEXT, unk_token=END_OF_TEXT
    )
    log.info("trained a byte-level BPE of %d tokens", len(tokenizer))
    return tokenizer


def gpt2_token_count(texts: Iterable[str]) -> int:
    """How many GPT-2 tokens ``texts`` take: the denominator of a per-GPT-2-token perplexity."""
    return sum(len(ids) for ids in gpt2_reference_tokenizer()(list(texts), verbose=False)["input_ids"])
