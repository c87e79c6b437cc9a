"""Pre-train a small GPT-2-architecture language model from scratch on BBC news articles.

No pretrained GPT-2 weights can be downloaded on these machines, so the model starts from random
weights and the real GPT-2 tokenizer; its card says so.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast, get_linear_schedule_with_warmup

from workers.ml.device import resolve_device
from workers.ml.generator import KIND, TextGenerator, gpt2_tokenizer_path
from workers.ml.info import ModelInfo, write_info
from workers.training.common import count_parameters, new_info, seed_everything, write_model_card
from workers.training.profiles import GeneratorProfile, get_profile

log = logging.getLogger(__name__)

CORPUS_FILE = "corpora/bbc_news.jsonl"
DATA_FILES = (CORPUS_FILE,)
SAMPLE_PROMPTS = ("The government said", "Shares in the company")


def read_articles(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    return [f"{record['title']}\n\n{record['text']}" for record in records]


def to_blocks(tokenizer: GPT2TokenizerFast, articles: list[str], seq_len: int) -> torch.Tensor:
    """One token stream with <|endoftext|> after every article, cut into equal blocks (remainder dropped)."""
    stream: list[int] = []
    for ids in tokenizer(articles)["input_ids"]:
        stream.extend(ids)
        stream.append(tokenizer.eos_token_id)
    usable = len(stream) // seq_len * seq_len
    return torch.tensor(stream[:usable], dtype=torch.long).view(-1, seq_len)


def train_generator(data_dir: Path, out_dir: Path, profile: str, device: str, seed: int = 0) -> ModelInfo:
    config = get_profile(profile).generator
    device = resolve_device(device)
    seed_everything(seed)

    articles = read_articles(data_dir / CORPUS_FILE)
    order = np.random.default_rng(seed).permutation(len(articles))
    n_valid = max(1, round(config.valid_fraction * len(articles)))
    valid_articles = [articles[i] for i in order[:n_valid]]
    train_articles = [articles[i] for i in order[n_valid:]][: config.max_train_articles]

    tokenizer = GPT2TokenizerFast.from_pretrained(gpt2_tokenizer_path(), local_files_only=True)
    train_blocks = to_blocks(tokenizer, train_articles, config.seq_len)
    valid_blocks = to_blocks(tokenizer, valid_articles, config.seq_len)[: config.max_valid_blocks]
    log.info(
        "generator: %d training articles (%d blocks of %d tokens), %d held out (%d blocks used)",
        len(train_articles),
        len(train_blocks),
        config.seq_len,
        len(valid_articles),
        len(valid_blocks),
    )

    model = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=config.n_positions,
            n_embd=config.n_embd,
            n_layer=config.n_layer,
            n_head=config.n_head,
            resid_pdrop=config.dropout,
            embd_pdrop=config.dropout,
            attn_pdrop=config.dropout,
            bos_token_id=tokenizer.eos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.eos_token_id,
            tie_word_embeddings=True,
        )
    ).to(device)

    started = time.perf_counter()
    train_loss = _fit(model, train_blocks, config, device, seed)
    training_seconds = time.perf_counter() - started
    valid_loss = _mean_loss(model, valid_blocks, config.batch_size, device)

    # Batched generation pads with <|endoftext|>; the saved tokenizer must know that.
    tokenizer.pad_token = tokenizer.eos_token
    tokenizer.model_max_length = config.n_positions
    info = new_info(
        name="generator",
        kind=KIND,
        profile=profile,
        base=(
            f"GPT-2 architecture (GPT2LMHeadModel, {config.n_layer} layers, {config.n_head} heads, "
            f"width {config.n_embd}, context {config.n_positions}) initialised at random, GPT-2 tokenizer"
        ),
        parameters=count_parameters(model),
        device=device,
        data={
            "corpus_file": CORPUS_FILE,
            "train_articles": len(train_articles),
            "valid_articles": len(valid_articles),
            "train_tokens": int(train_blocks.numel()),
            "valid_tokens_scored": int(valid_blocks.numel()),
            "split": f"a seeded random {config.valid_fraction:.0%} of the articles (seed {seed})",
            "licence": "BBC news corpus, research use (Greene & Cunningham 2006)",
        },
    )
    info.training_seconds = round(training_seconds, 2)
    info.metrics = {
        "val_loss": round(valid_loss, 4),
        "val_perplexity": round(math.exp(valid_loss), 2),
        "train_loss_end": round(train_loss, 4),
    }
    log.info("generator: metrics %s after %.1f s", info.metrics, training_seconds)

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    write_info(out_dir, info)
    generator = TextGenerator(model, tokenizer, info, device)
    samples = {
        prompt: generator.generate(
            prompt, max_new_tokens=40, temperature=0.8, top_p=0.95, num_return_sequences=1, seed=seed + i
        )[0]
        for i, prompt in enumerate(SAMPLE_PROMPTS)
    }
    _write_card(out_dir, info, config, samples)
    return info


def _fit(
    model: GPT2LMHeadModel, blocks: torch.Tensor, config: GeneratorProfile, device: str, seed: int
) -> float:
    """AdamW, linear warm-up and decay, shuffled blocks; returns the mean loss of the last <= 50 steps."""
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay, betas=(0.9, 0.95)
    )
    schedule = get_linear_schedule_with_warmup(optimizer, config.warmup_steps, config.steps)
    order_rng = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(blocks), generator=order_rng)
    cursor = 0
    recent: list[float] = []
    model.train()
    for step in tqdm(range(config.steps), desc="generator pre-training", disable=None):
        if cursor + config.batch_size > len(order):  # next pass over the corpus, in a new order
            order, cursor = torch.randperm(len(blocks), generator=order_rng), 0
        batch = blocks[order[cursor : cursor + config.batch_size]].to(device)
        cursor += config.batch_size
        loss = _loss(model, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        recent = [*recent[-49:], loss.item()]
        if (step + 1) % 50 == 0:
            log.info("generator: step %d/%d loss %.3f", step + 1, config.steps, sum(recent) / len(recent))
    model.eval()
    return sum(recent) / len(recent)


def _loss(model: GPT2LMHeadModel, batch: torch.Tensor) -> torch.Tensor:
    # Blocks are unpadded but contain <|endoftext|>, which is also the pad id: an explicit all-ones mask
    # tells the model that every token is real.
    return model(input_ids=batch, attention_mask=torch.ones_like(batch), labels=batch).loss


def _mean_loss(model: GPT2LMHeadModel, blocks: torch.Tensor, batch_size: int, device: str) -> float:
    # Every block has the same length, so the mean of per-batch means weighted by batch size is per-token.
    total = 0.0
    with torch.inference_mode():
        for start in range(0, len(blocks), batch_size):
            batch = blocks[start : start + batch_size].to(device)
            total += _loss(model, batch).item() * len(batch)
    return total / len(blocks)


def _write_card(folder: Path, info: ModelInfo, config: GeneratorProfile, samples: dict[str, str]) -> None:
    shown = "\n\n".join(f"**{prompt}** {text}" for prompt, text in samples.items())
    write_model_card(
        folder,
        title="queuebot text generator",
        summary=(
            "**This is NOT OpenAI's GPT-2 checkpoint.** It is a small model with the GPT-2 architecture "
            f"({info.parameters:,} parameters, embeddings tied with the output layer) and the real GPT-2 "
            f"tokenizer, pre-trained here from random weights for {info.training_seconds:.0f} s on "
            f"{info.device}. Expect fluent-looking fragments of news prose at best, not reliable text. "
            "Given a path to real GPT-2 weights, the same serving code runs them."
        ),
        info=info,
        sections={
            "Data": (
                f"`{CORPUS_FILE}`: BBC news articles (2004-2005; research use), title and body, articles "
                f"separated by `<|endoftext|>`. Held out and never trained on: {info.data['split']}, "
                f"{info.data['valid_articles']} articles; validation loss is measured on "
                f"{info.data['valid_tokens_scored']:,} of their tokens. Training saw "
                f"{config.steps * config.batch_size * config.seq_len:,} tokens out of "
                f"{info.data['train_tokens']:,} available."
            ),
            "Training": (
                f"{config.steps} steps of {config.batch_size} x {config.seq_len} tokens, AdamW lr "
                f"{config.learning_rate} (betas 0.9/0.95, weight decay {config.weight_decay}), "
                f"{config.warmup_steps} warm-up steps then linear decay, gradient clipping at 1.0, "
                f"dropout {config.dropout}."
            ),
            "Sample generations (temperature 0.8, top-p 0.95, seeded)": shown,
        },
    )
