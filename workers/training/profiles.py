"""Build profiles: how much data and compute each model gets.

Measured with ``build_models`` on the 2-core CPU development machine (torch 2.13 CPU), wall time per
model including loading MiniLM and saving; this machine's speed varied by up to ~40 % between runs.

``tiny`` (tests): sentiment 4.0 s, generator 2.9 s, reply-retriever 1.1 s; 7.9 s for all three
(14 s for the whole process, imports included). Quality is not the point: the sentiment model still
answers the majority class (accuracy 0.65, macro-F1 0.26), the generator's validation loss is 10.5.

``quick`` (product default): sentiment 99 s (78 s training on 2,400 tweets; validation accuracy 0.773,
macro-F1 0.728 on all 2,388 validation tweets, majority-class baseline 0.656), generator 142 s
(130 s pre-training, 96 steps of 1,024 tokens; validation loss 7.15, perplexity 1,278), reply-retriever
14 s (4,061 questions; leave-one-out top-1 intent agreement 0.968); 254 s for all three. A slower run
of an earlier version of this profile took 132 s for sentiment and 2.0 s per generator step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SentimentProfile:
    train_rows: int | None  # stratified sample of sent_train.csv; None: every row
    valid_rows: int | None  # stratified sample of sent_valid.csv; None: every row
    epochs: int
    max_length: int  # training truncation; tweets rarely exceed 64 tokens
    batch_size: int
    learning_rate: float
    warmup_ratio: float
    weight_decay: float
    # Weight the loss by inverse class frequency: the data is ~65 % neutral, and without this a short
    # fine-tune learns to answer "neutral" (measured: macro-F1 0.28 unweighted at lr 5e-5, 0.48 at 2e-4).
    balance_classes: bool


@dataclass(frozen=True)
class GeneratorProfile:
    n_layer: int
    n_head: int
    n_embd: int
    n_positions: int
    dropout: float  # 0: a model trained for a few minutes underfits, it does not overfit
    seq_len: int  # tokens per training block; = n_positions, so every position the model serves is trained
    batch_size: int
    steps: int
    learning_rate: float
    warmup_steps: int
    weight_decay: float
    max_train_articles: int | None  # None: every training article
    valid_fraction: float  # share of articles held out, never trained on
    max_valid_blocks: int  # validation loss is averaged over at most this many held-out blocks


@dataclass(frozen=True)
class ReplyIndexProfile:
    rows: int | None  # stratified by intent, so every intent is present; None: every row
    eval_queries: int  # indexed questions used as leave-one-out queries for the metric


@dataclass(frozen=True)
class Profile:
    name: str
    sentiment: SentimentProfile
    generator: GeneratorProfile
    reply_index: ReplyIndexProfile


PROFILES: dict[str, Profile] = {
    # For tests: real models, minimal data; proves the pipeline, not quality.
    "tiny": Profile(
        name="tiny",
        sentiment=SentimentProfile(
            train_rows=96,
            valid_rows=48,
            epochs=1,
            max_length=32,
            batch_size=16,
            learning_rate=2e-4,
            warmup_ratio=0.1,
            weight_decay=0.01,
            balance_classes=True,
        ),
        generator=GeneratorProfile(
            n_layer=2,
            n_head=2,
            n_embd=64,
            n_positions=128,
            dropout=0.0,
            seq_len=128,
            batch_size=2,
            steps=8,
            learning_rate=2e-3,
            warmup_steps=2,
            weight_decay=0.01,
            max_train_articles=40,
            valid_fraction=0.05,
            max_valid_blocks=4,
        ),
        reply_index=ReplyIndexProfile(rows=300, eval_queries=60),
    ),
    # What the product builds on a fresh machine.
    "quick": Profile(
        name="quick",
        sentiment=SentimentProfile(
            train_rows=2400,
            valid_rows=None,
            epochs=1,
            max_length=64,
            batch_size=32,
            learning_rate=2e-4,
            warmup_ratio=0.1,
            weight_decay=0.01,
            balance_classes=True,
        ),
        generator=GeneratorProfile(
            n_layer=4,
            n_head=4,
            n_embd=256,
            n_positions=256,
            dropout=0.0,
            seq_len=256,
            batch_size=4,
            steps=96,
            learning_rate=2e-3,
            warmup_steps=10,
            weight_decay=0.01,
            max_train_articles=None,
            valid_fraction=0.05,
            max_valid_blocks=64,
        ),
        reply_index=ReplyIndexProfile(rows=None, eval_queries=500),
    ),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown model profile {name!r}; choose one of {sorted(PROFILES)}") from None
