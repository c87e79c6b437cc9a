"""How much model, data and compute each GPT-2 build gets: pre-training and the two fine-tunes.

Measured on the 2-core CPU development machine (AMD EPYC, AVX2, no AVX-512; torch 2.13 CPU, fp32),
wall time per run including loading, tokenising, evaluation, saving and the card's samples. Every
measurement below ran while another training job kept ~1.3 of the 2 cores busy, with torch limited to
1 thread (under that contention torch's default 2 OpenMP threads ran 3-40x SLOWER than 1). Times on an
idle machine are estimated from that at about half: the previous quick generator (4 layers, width 256)
trained at 756 tokens/s on the idle machine, where this quick one (width 192) trained at 422 tokens/s
under contention.

``tiny`` (tests): 2 layers, width 64, 64 positions (3.3M parameters, almost all of them the 50,257 x 64
token embedding); 8 steps per run, each run a few seconds. Proves the pipeline, not quality.

``quick`` (demo / CI default): 4 layers, width 192, 256 positions: 11,478,336 parameters, 9.65M of them
the tied token embedding. Measured (contended): pre-training 349 s (70 steps, 143,360 tokens, validation
perplexity 692: news 1,461, customer support 328), generator fine-tune 106 s (40,960 tokens, validation
perplexity 1,536 -> 1,319), replies fine-tune 109 s (31,175 tokens, reply perplexity on validation
280 -> 163, test 173); 565 s together, so an ESTIMATED 4-5 minutes on the idle machine. The texts are
still mostly fragments: a few minutes of CPU cannot pre-train a language model.

``full`` (quality, sized for this CPU): 6 layers, width 256, 256 positions: 17,670,400 parameters;
pre-training sees 922k tokens (~55 % of the text), the fine-tunes ~120k tokens each. ESTIMATED, not run
to the end: its first 12 pre-training steps took 5.6 s each under contention and one evaluation 16 s,
which extrapolates to ~61 minutes contended for all three runs, about 27-34 minutes on the idle machine.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gpt2Architecture:
    n_layer: int
    n_head: int
    n_embd: int
    n_positions: int  # context window; every position is trained (pre-training blocks have this length)
    dropout: float  # 0 for short runs: they underfit, they do not overfit


@dataclass(frozen=True)
class TrainingSchedule:
    """One AdamW run: linear warm-up, then linear decay to 0 at ``max_steps``; early stopping."""

    batch_size: int
    max_steps: int
    learning_rate: float
    warmup_steps: int
    weight_decay: float
    # Validation loss is measured every ``eval_every`` steps and after the last one; training stops once
    # ``patience`` evaluations in a row fail to improve on the best, and the best weights are kept.
    eval_every: int
    patience: int


@dataclass(frozen=True)
class PretrainProfile:
    architecture: Gpt2Architecture
    schedule: TrainingSchedule
    max_valid_blocks: int  # held-out blocks scored per evaluation (cost: one forward pass each)
    # A seeded sample of the training documents (articles and dialogues); None: all of them. Only worth
    # setting where the run is too short to get through the data anyway: it saves tokenising it.
    max_train_documents: int | None


@dataclass(frozen=True)
class GeneratorFinetuneProfile:
    schedule: TrainingSchedule
    block_size: int  # tokens per training block, capped at the base model's context window
    max_valid_blocks: int
    max_train_documents: int | None  # a seeded sample of the training documents; None: all of them


@dataclass(frozen=True)
class RepliesFinetuneProfile:
    schedule: TrainingSchedule
    max_length: int  # prompt + reply tokens, capped at the base model's context window
    # A seeded sample of the training split, taking the intents in turn; None: every training pair.
    max_train_pairs: int | None
    # Pairs scored for early stopping, and for the final validation and test perplexities: seeded
    # samples of those splits, taking the intents in turn (each split is ~10 % of the data, ~400 pairs).
    max_eval_pairs: int
    sample_replies: int  # held-out test questions answered in the model card


@dataclass(frozen=True)
class Gpt2Profile:
    name: str
    pretrain: PretrainProfile
    generator: GeneratorFinetuneProfile
    replies: RepliesFinetuneProfile


_TINY_SCHEDULE = TrainingSchedule(
    batch_size=2,
    max_steps=8,
    learning_rate=2e-3,
    warmup_steps=2,
    weight_decay=0.01,
    eval_every=4,
    patience=2,
)

GPT2_PROFILES: dict[str, Gpt2Profile] = {
    "tiny": Gpt2Profile(
        name="tiny",
        pretrain=PretrainProfile(
            architecture=Gpt2Architecture(n_layer=2, n_head=2, n_embd=64, n_positions=64, dropout=0.0),
            schedule=_TINY_SCHEDULE,
            max_valid_blocks=4,
            max_train_documents=100,
        ),
        generator=GeneratorFinetuneProfile(
            schedule=_TINY_SCHEDULE, block_size=64, max_valid_blocks=4, max_train_documents=50
        ),
        replies=RepliesFinetuneProfile(
            schedule=_TINY_SCHEDULE, max_length=64, max_train_pairs=64, max_eval_pairs=8, sample_replies=2
        ),
    ),
    "quick": Gpt2Profile(
        name="quick",
        pretrain=PretrainProfile(
            architecture=Gpt2Architecture(n_layer=4, n_head=4, n_embd=192, n_positions=256, dropout=0.0),
            # 70 x 8 x 256 = 143k tokens, ~9 % of the pre-training text.
            schedule=TrainingSchedule(
                batch_size=8,
                max_steps=70,
                learning_rate=3e-3,
                warmup_steps=7,
                weight_decay=0.01,
                eval_every=20,
                patience=2,
            ),
            max_valid_blocks=16,
            max_train_documents=None,
        ),
        generator=GeneratorFinetuneProfile(
            schedule=TrainingSchedule(
                batch_size=8,
                max_steps=20,
                learning_rate=1e-3,
                warmup_steps=2,
                weight_decay=0.01,
                eval_every=10,
                patience=2,
            ),
            block_size=256,
            max_valid_blocks=16,
            max_train_documents=None,
        ),
        replies=RepliesFinetuneProfile(
            schedule=TrainingSchedule(
                batch_size=8,
                max_steps=25,
                learning_rate=1e-3,
                warmup_steps=3,
                weight_decay=0.01,
                eval_every=10,
                patience=2,
            ),
            max_length=256,
            max_train_pairs=None,
            max_eval_pairs=54,  # two pairs per intent
            sample_replies=3,
        ),
    ),
    "full": Gpt2Profile(
        name="full",
        pretrain=PretrainProfile(
            # Deeper than quick, not wider: on this CPU the 50,257-way output layer dominates the cost of
            # a token, and it grows with the width only.
            architecture=Gpt2Architecture(n_layer=6, n_head=4, n_embd=256, n_positions=256, dropout=0.0),
            # 450 x 8 x 256 = 922k tokens, ~55 % of the pre-training text.
            schedule=TrainingSchedule(
                batch_size=8,
                max_steps=450,
                learning_rate=2e-3,
                warmup_steps=30,
                weight_decay=0.01,
                eval_every=50,
                patience=3,
            ),
            max_valid_blocks=48,
            max_train_documents=None,
        ),
        generator=GeneratorFinetuneProfile(
            schedule=TrainingSchedule(
                batch_size=8,
                max_steps=60,
                learning_rate=5e-4,
                warmup_steps=6,
                weight_decay=0.01,
                eval_every=20,
                patience=2,
            ),
            block_size=256,
            max_valid_blocks=48,
            max_train_documents=None,
        ),
        replies=RepliesFinetuneProfile(
            schedule=TrainingSchedule(
                batch_size=8,
                max_steps=80,
                learning_rate=5e-4,
                warmup_steps=8,
                weight_decay=0.01,
                eval_every=20,
                patience=2,
            ),
            max_length=256,
            max_train_pairs=None,
            max_eval_pairs=108,  # four pairs per intent
            sample_replies=5,
        ),
    ),
}


def get_gpt2_profile(name: str) -> Gpt2Profile:
    try:
        return GPT2_PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown GPT-2 profile {name!r}; choose one of {sorted(GPT2_PROFILES)}") from None
