"""Pre-train a small GPT-2-architecture model from random weights: the base the fine-tunes start from.

No pretrained GPT-2 weights can be downloaded on these machines, so the model is a GPT2LMHeadModel built
from a GPT2Config with the real GPT-2 tokenizer, trained here on news articles and customer-support
dialogues; its card says plainly that it is not OpenAI's checkpoint.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

from workers.ml.device import resolve_device
from workers.ml.generator import gpt2_tokenizer_path
from workers.ml.info import ModelInfo
from workers.training import gpt2_cards
from workers.training.common import count_parameters, new_info, seed_everything
from workers.training.gpt2_artifacts import fit_summary, sample_continuations, save_model_folder
from workers.training.gpt2_base import BASE_KIND
from workers.training.gpt2_data import (
    CORPUS_FILE,
    LICENCES,
    NEWS_VALID_FRACTION,
    SUPPORT_FILE,
    SUPPORT_TEST_FRACTION,
    SUPPORT_VALID_FRACTION,
    SupportPair,
    interleave,
    read_news_articles,
    read_support_pairs,
    split_documents,
    split_support_pairs,
    to_blocks,
)
from workers.training.gpt2_loop import fit, mean_loss, perplexity
from workers.training.gpt2_profiles import get_gpt2_profile

log = logging.getLogger(__name__)

DATA_FILES = (CORPUS_FILE, SUPPORT_FILE)
SAMPLE_PROMPTS = ("The government said", "Shares in the company", "I want to cancel my order")


def pretrain_gpt2(data_dir: Path, out_dir: Path, profile: str, device: str, seed: int = 0) -> ModelInfo:
    """Pre-train a GPT2LMHeadModel from a GPT2Config on news articles and customer-support dialogues.

    Held out, never trained on: a seeded 5 % of the articles, and the customer-support pairs that
    ``finetune_replies`` with the same seed uses for validation and test.
    """
    config = get_gpt2_profile(profile).pretrain
    arch = config.architecture
    device = resolve_device(device)
    seed_everything(seed)

    articles = read_news_articles(Path(data_dir) / CORPUS_FILE)
    support = split_support_pairs(read_support_pairs(Path(data_dir) / SUPPORT_FILE), seed)
    news_train, news_valid = split_documents(articles, seed, NEWS_VALID_FRACTION)
    dialogues = [_dialogue(pair) for pair in support.train]
    # Shuffled documents, so the blocks cut from one stream mix both registers throughout training.
    order = np.random.default_rng(seed).permutation(len(news_train) + len(dialogues))
    order = order[: config.max_train_documents]
    n_articles = int((order < len(news_train)).sum())
    documents = [news_train[i] if i < len(news_train) else dialogues[i - len(news_train)] for i in order]

    tokenizer = GPT2TokenizerFast.from_pretrained(gpt2_tokenizer_path(), local_files_only=True)
    tokenizer.pad_token = tokenizer.eos_token
    tokenizer.model_max_length = arch.n_positions
    train_blocks = to_blocks(tokenizer, documents, arch.n_positions)
    half = max(1, config.max_valid_blocks // 2)
    valid_news = to_blocks(tokenizer, news_valid, arch.n_positions)[:half]
    valid_support = to_blocks(tokenizer, [_dialogue(pair) for pair in support.valid], arch.n_positions)[:half]
    log.info(
        "gpt2-base: %d articles + %d support dialogues in %d blocks of %d tokens; %d + %d validation blocks",
        n_articles,
        len(documents) - n_articles,
        len(train_blocks),
        arch.n_positions,
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
    result = fit(
        model,
        train_blocks,
        interleave(valid_news, valid_support),
        config.schedule,
        pad_id=eos,
        device=device,
        seed=seed,
        name="gpt2-base pre-training",
    )
    batch = config.schedule.batch_size
    news_loss = mean_loss(model, valid_news, batch, eos, device)
    support_loss = mean_loss(model, valid_support, batch, eos, device)

    info = new_info(
        name=BASE_KIND,
        kind=BASE_KIND,
        profile=profile,
        base=(
            f"GPT-2 architecture (GPT2LMHeadModel, {arch.n_layer} layers, {arch.n_head} heads, width "
            f"{arch.n_embd}, context {arch.n_positions}) initialised at random, real GPT-2 tokenizer; "
            "not OpenAI's GPT-2 weights"
        ),
        parameters=count_parameters(model),
        device=device,
        data={
            "corpus_files": list(DATA_FILES),
            "seed": seed,
            "train_articles": n_articles,
            "valid_articles": len(news_valid),
            "train_dialogues": len(documents) - n_articles,
            "valid_dialogues": len(support.valid),
            "test_dialogues_untouched": len(support.test),
            "train_tokens_available": sum(len(block.input_ids) for block in train_blocks),
            "valid_tokens_scored": sum(len(b.input_ids) for b in (*valid_news, *valid_support)),
            "split": (
                f"seeded (seed {seed}): a random {NEWS_VALID_FRACTION:.0%} of the articles; the customer-"
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
        "val_perplexity": round(perplexity(result.best_valid_loss), 2),
        "val_perplexity_news": round(perplexity(news_loss), 2),
        "val_perplexity_support": round(perplexity(support_loss), 2),
        "train_loss_end": round(result.train_loss_end, 4),
    }
    log.info("gpt2-base: metrics %s after %.1f s", info.metrics, result.seconds)
    save_model_folder(out_dir, model, tokenizer, info)
    samples = sample_continuations(model, tokenizer, info, SAMPLE_PROMPTS, seed)
    gpt2_cards.write_base_card(out_dir, info, config.schedule, result, samples)
    return info


def _dialogue(pair: SupportPair) -> str:
    """A support pair as pre-training text: plain question and reply, not the reply model's template."""
    return f"{pair.question}\n\n{pair.reply}"
