"""Pre-train a small GPT-2-architecture model from random weights: the base the fine-tunes start from.

No pretrained GPT-2 weights can be downloaded on these machines, so the model is a GPT2LMHeadModel built
from a GPT2Config, trained here on news articles and customer-support dialogues; its card says plainly
that it is not OpenAI's checkpoint. Its vocabulary is a byte-level BPE learnt from the same training
text (``gpt2_tokenizer``), or GPT-2's own where the profile asks for it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast, PreTrainedTokenizerBase

from training.bbc_corpus import BBC_CORPUS
from training.gpt2 import cards as gpt2_cards
from training.gpt2.artifacts import fit_summary, sample_continuations, save_model_folder
from training.gpt2.base import BASE_KIND
from training.gpt2.data import (
    LICENCES,
    NEWS_TEST_FRACTION,
    NEWS_VALID_FRACTION,
    SUPPORT_FILE,
    SUPPORT_TEST_FRACTION,
    SUPPORT_VALID_FRACTION,
    LmExample,
    SupportPair,
    interleave,
    read_news_articles,
    read_support_pairs,
    sample_pairs,
    split_news,
    split_support_pairs,
    to_blocks,
)
from training.gpt2.heldout import document_windows, ngram_baseline, score
from training.gpt2.loop import fit, perplexity
from training.gpt2.profiles import get_gpt2_profile
from training.gpt2.tokenizer import train_corpus_tokenizer
from training.model_card import count_parameters, new_info
from training.seeding import seed_everything
from workers.ml.device import resolve_device
from workers.ml.generator import gpt2_tokenizer_path
from workers.ml.info import ModelInfo

log = logging.getLogger(__name__)

DATA_FILES = (BBC_CORPUS, SUPPORT_FILE)
SAMPLE_PROMPTS = ("The government said", "Shares in the company", "I want to cancel my order")


def pretrain_gpt2(data_dir: Path, out_dir: Path, profile: str, device: str, seed: int = 0) -> ModelInfo:
    """Pre-train a GPT2LMHeadModel from a GPT2Config on news articles and customer-support dialogues.

    Held out, never trained on: seeded validation and test shares of the articles (``split_news``),
    and the customer-support pairs that ``finetune_replies`` with the same seed uses for validation
    and test. Held-out figures are per GPT-2 token of the text (``gpt2_heldout``).
    """
    config = get_gpt2_profile(profile).pretrain
    arch = config.architecture
    device = resolve_device(device)
    seed_everything(seed)

    articles = read_news_articles(Path(data_dir) / BBC_CORPUS)
    support = split_support_pairs(read_support_pairs(Path(data_dir) / SUPPORT_FILE), seed)
    news_train, news_valid, news_test = split_news(articles, seed)
    dialogues = [_dialogue(pair) for pair in support.train]
    # Shuffled documents, so the blocks cut from one stream mix both registers throughout training.
    order = np.random.default_rng(seed).permutation(len(news_train) + len(dialogues))
    order = order[: config.max_train_documents]
    n_articles = int((order < len(news_train)).sum())
    documents = [news_train[i] if i < len(news_train) else dialogues[i - len(news_train)] for i in order]

    tokenizer = _tokenizer(documents, config.vocab_size)
    tokenizer.pad_token = tokenizer.eos_token
    tokenizer.model_max_length = arch.n_positions
    block = min(config.block_size, arch.n_positions)
    train_blocks = to_blocks(tokenizer, documents, block)
    half = max(1, config.max_valid_blocks // 2)
    valid_news = to_blocks(tokenizer, news_valid, block)[:half]
    valid_support = to_blocks(tokenizer, [_dialogue(pair) for pair in support.valid], block)[:half]
    # The card's held-out figures: every validation article, and dialogues of every intent.
    held_news = document_windows(tokenizer, news_valid, arch.n_positions)
    support_sample = sample_pairs(support.valid, _CARD_DIALOGUES, seed)
    held_support = document_windows(tokenizer, [_dialogue(pair) for pair in support_sample], arch.n_positions)
    log.info(
        "gpt2-base: %d articles + %d support dialogues in %d blocks of %d tokens; %d + %d validation blocks",
        n_articles,
        len(documents) - n_articles,
        len(train_blocks),
        block,
        len(valid_news),
        len(valid_support),
    )

    eos = tokenizer.eos_token_id
    model = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=arch.n_positions,
            n_embd=arch.n_embd,
            n_layer=arch.n_layer,
            n_head=arch.n_head,
            resid_pdrop=arch.dropout,
            embd_pdrop=arch.dropout,
            attn_pdrop=arch.dropout,
            bos_token_id=eos,
            eos_token_id=eos,
            pad_token_id=eos,
            tie_word_embeddings=True,
        )
    ).to(device)
    _start_from_unigram_frequencies(model, train_blocks)
    result = fit(
        model,
        train_blocks,
        interleave(valid_news, valid_support),
        config.schedule,
        pad_id=eos,
        device=device,
        seed=seed,
        name="gpt2-base pre-training",
        spread_positions=True,
    )
    batch = config.schedule.batch_size
    news = score(model, held_news, batch, eos, device)
    support_score = score(model, held_support, batch, eos, device)
    baseline = ngram_baseline(
        train_blocks, held_news, len(tokenizer), order=get_gpt2_profile(profile).ngram_order
    )

    vocabulary = _vocabulary(tokenizer, config.vocab_size)
    info = new_info(
        name=BASE_KIND,
        kind=BASE_KIND,
        profile=profile,
        base=(
            f"GPT-2 architecture (GPT2LMHeadModel, {arch.n_layer} layers, {arch.n_head} heads, width "
            f"{arch.n_embd}, context {arch.n_positions}) initialised at random, {vocabulary}; not OpenAI's "
            "GPT-2 weights"
        ),
        parameters=count_parameters(model),
        device=device,
        data={
            "corpus_files": list(DATA_FILES),
            "seed": seed,
            "train_articles": n_articles,
            "valid_articles": len(news_valid),
            "test_articles_untouched": len(news_test),
            "vocab_size": len(tokenizer),
            "ngram_order": get_gpt2_profile(profile).ngram_order,
            "vocabulary": vocabulary,
            "train_dialogues": len(documents) - n_articles,
            "valid_dialogues": len(support.valid),
            "test_dialogues_untouched": len(support.test),
            "train_tokens_available": sum(len(block.input_ids) for block in train_blocks),
            "valid_tokens_scored": sum(len(b.input_ids) for b in (*valid_news, *valid_support)),
            "split": (
                f"seeded (seed {seed}): random {NEWS_VALID_FRACTION:.0%} (validation) and "
                f"{NEWS_TEST_FRACTION:.0%} (test) shares of the articles; the customer-"
                f"support pairs split {1 - SUPPORT_VALID_FRACTION - SUPPORT_TEST_FRACTION:.0%} / "
                f"{SUPPORT_VALID_FRACTION:.0%} / {SUPPORT_TEST_FRACTION:.0%} stratified by intent, only "
                "the first part trained on"
            ),
            **fit_summary(result),
            "licences": [LICENCES[name] for name in DATA_FILES],
        },
    )
    info.training_seconds = round(result.seconds, 2)
    info.metrics = {
        "val_loss": round(result.best_valid_loss, 4),
        "val_perplexity_model_tokens": round(perplexity(result.best_valid_loss), 2),
        **news.as_metrics("val_news"),
        **support_score.as_metrics("val_support"),
        **baseline.as_metrics("val_news_ngram", counts=False),
        "train_loss_end": round(result.train_loss_end, 4),
    }
    log.info("gpt2-base: metrics %s after %.1f s", info.metrics, result.seconds)
    save_model_folder(out_dir, model, tokenizer, info)
    samples = sample_continuations(model, tokenizer, info, SAMPLE_PROMPTS, seed)
    gpt2_cards.write_base_card(out_dir, info, config.schedule, result, samples)
    return info


_CARD_DIALOGUES = 108  # four per intent
# The unigram log-frequencies ride in one embedding dimension scaled down by this, and the final layer
# norm scales them back up: small in the input embedding, exact in the output logits.
_PRIOR_SCALE = 50.0


def _start_from_unigram_frequencies(model: GPT2LMHeadModel, blocks: list[LmExample]) -> None:
    """Make the untrained model predict the training tokens' unigram frequencies.

    A model from random weights first spends its steps learning how common each token is; a short run
    on a CPU cannot spare them. GPT-2's output layer has no bias to start from log-frequencies, so the
    last embedding dimension holds them (tied embeddings: the output layer reads the same matrix) and the
    final layer norm emits a constant in that dimension: every logit starts as ``log p(token)``. Training
    is free to change all of it.
    """
    counts = np.bincount(
        np.concatenate([block.input_ids for block in blocks]), minlength=model.config.vocab_size
    )
    log_frequency = np.log((counts + 1) / (counts.sum() + len(counts)))
    with torch.no_grad():
        embedding = model.get_input_embeddings().weight
        embedding[:, -1] = torch.from_numpy(log_frequency / _PRIOR_SCALE).to(embedding)
        model.transformer.ln_f.weight[-1] = 0.0
        model.transformer.ln_f.bias[-1] = _PRIOR_SCALE


def _tokenizer(documents: list[str], vocab_size: int | None) -> PreTrainedTokenizerBase:
    if vocab_size is None:
        return GPT2TokenizerFast.from_pretrained(gpt2_tokenizer_path(), local_files_only=True)
    return train_corpus_tokenizer(documents, vocab_size)


def _vocabulary(tokenizer: PreTrainedTokenizerBase, vocab_size: int | None) -> str:
    if vocab_size is None:
        return "GPT-2's own tokenizer (50,257 tokens)"
    return (
        f"a byte-level BPE of {len(tokenizer):,} tokens learnt from its training text with GPT-2's "
        "pre-tokenizer and byte alphabet"
    )


def _dialogue(pair: SupportPair) -> str:
    """A support pair as pre-training text: plain question and reply, not the reply model's template."""
    return f"{pair.question}\n\n{pair.reply}"
