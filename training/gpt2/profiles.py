"""How much model, data and compute each GPT-2 build gets: pre-training and the two fine-tunes.

Sized for a 2-core CPU, where a build has minutes. What buys quality there:

- a small vocabulary (``vocab_size``: a byte-level BPE learnt from the training text, see
  ``gpt2_tokenizer``): GPT-2's 50,257-way output layer is most of a small model's parameters and of
  its compute per token, and a few thousand tokens cost only some 10-20 % more tokens per text;
- a small model that takes many steps rather than a larger one that takes few;
- many short blocks a step rather than a few long ones, each placed at a random offset in the context
  (``fit(spread_positions=True)``) so that every position a long prompt uses is still trained;
- an output layer that starts from the training tokens' unigram frequencies (``gpt2_pretrain``);
- and, when serving, the interpolation with a Kneser-Ney n-gram of ``ngram_order`` fitted on the same
  training tokens (``workers/ml/ngram_mixture.py``), which a transformer trained for minutes does not
  yet beat on its own.

``tiny`` proves the pipeline in tests in seconds; ``quick`` is the first-run default and must build the
three models in minutes; ``full`` is the quality recipe, about an hour. Measured figures for each are
in ``docs/benchmarks.md`` with the command and commit that produced them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Gpt2Architecture:
    n_layer: int
    n_head: int
    n_embd: int
    n_positions: int  # context window
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
    # Tokens per training block; shorter than the context, each block is placed at a random offset in
    # it, so every position is trained while a batch still holds many different passages.
    block_size: int
    max_valid_blocks: int  # held-out blocks scored per evaluation (cost: one forward pass each)
    # Tokens of the corpus-trained BPE the base gets (and its fine-tunes inherit); None: GPT-2's own 50,257.
    vocab_size: int | None
    # A seeded sample of the training documents (articles and dialogues); None: all of them. Only worth
    # setting where the run is too short to get through the data anyway: it saves tokenising it.
    max_train_documents: int | None


@dataclass(frozen=True)
class GeneratorFinetuneProfile:
    schedule: TrainingSchedule
    block_size: int  # tokens per training block (at a random offset in the context), capped at the context
    max_valid_blocks: int
    max_train_documents: int | None  # a seeded sample of the training documents; None: all of them
    # Served with copying from the text so far (``workers/ml/copy_mixture.py``): the longest match that
    # gets a weight of its own; longer matches share the last one.
    copy_match: int


@dataclass(frozen=True)
class RepliesFinetuneProfile:
    schedule: TrainingSchedule
    max_length: int  # prompt + reply tokens, capped at the base model's context window
    # A seeded sample of the training split, taking the intents in turn; None: every training pair.
    max_train_pairs: int | None
    # Pairs scored for early stopping, and for the final validation and test perplexities: seeded
    # samples of those splits, taking the intents in turn (each split is ~10 % of the data, ~400 pairs).
    max_eval_pairs: int
    # Approved answers shown in the prompt, nearest first, as serving shows them (retrieve and refine):
    # the model learns to adapt an answer rather than invent one. Those that do not fit are dropped.
    context_answers: int
    # Served with copying from the prompt (``workers/ml/copy_mixture.py``): the longest match that gets a
    # weight of its own; longer matches share the last one.
    copy_match: int
    sample_replies: int  # held-out test questions answered in the model card


@dataclass(frozen=True)
class Gpt2Profile:
    name: str
    pretrain: PretrainProfile
    generator: GeneratorFinetuneProfile
    replies: RepliesFinetuneProfile
    # The Kneser-Ney n-gram a served model is interpolated with, and the base's baseline: its order.
    ngram_order: int


_TINY_SCHEDULE = TrainingSchedule(
    batch_size=2,
    max_steps=8,
    learning_rate=2e-3,
    warmup_steps=2,
    weight_decay=0.01,
    eval_every=4,
    patience=2,
)


def _schedule(batch_size: int, max_steps: int, learning_rate: float, eval_every: int) -> TrainingSchedule:
    # Warm-up over the first 5 % of the steps; two evaluations without a new best end a fine-tune.
    return TrainingSchedule(
        batch_size=batch_size,
        max_steps=max_steps,
        learning_rate=learning_rate,
        warmup_steps=max(1, max_steps // 20),
        weight_decay=0.01,
        eval_every=eval_every,
        patience=2,
    )


GPT2_PROFILES: dict[str, Gpt2Profile] = {
    "tiny": Gpt2Profile(
        name="tiny",
        pretrain=PretrainProfile(
            # 256 positions: a reply example with one approved answer in its prompt still fits.
            architecture=Gpt2Architecture(n_layer=2, n_head=2, n_embd=64, n_positions=256, dropout=0.0),
            schedule=_TINY_SCHEDULE,
            block_size=64,
            max_valid_blocks=4,
            vocab_size=1024,
            max_train_documents=100,
        ),
        generator=GeneratorFinetuneProfile(
            schedule=_TINY_SCHEDULE, block_size=64, max_valid_blocks=4, max_train_documents=50, copy_match=3
        ),
        replies=RepliesFinetuneProfile(
            schedule=_TINY_SCHEDULE,
            max_length=256,
            max_train_pairs=64,
            max_eval_pairs=8,
            context_answers=2,
            copy_match=3,
            sample_replies=2,
        ),
        ngram_order=3,
    ),
    "quick": Gpt2Profile(
        name="quick",
        pretrain=PretrainProfile(
            # Two narrow layers: in a budget of minutes a smaller model that takes more steps wins.
            architecture=Gpt2Architecture(n_layer=2, n_head=2, n_embd=128, n_positions=512, dropout=0.0),
            # 16 blocks of 128 tokens a step: ~1.6M tokens in 800 steps, about one pass over the text.
            schedule=_schedule(batch_size=16, max_steps=800, learning_rate=5e-3, eval_every=200),
            block_size=128,
            max_valid_blocks=32,
            vocab_size=4096,
            max_train_documents=None,
        ),
        generator=GeneratorFinetuneProfile(
            schedule=_schedule(batch_size=16, max_steps=200, learning_rate=2e-3, eval_every=50),
            block_size=128,
            max_valid_blocks=32,
            max_train_documents=None,
            copy_match=6,
        ),
        replies=RepliesFinetuneProfile(
            # 500 x 8 = 4,000 examples, about 1.2 passes over the pairs: replies that follow the answers
            # in their prompt need the steps more than the base does.
            schedule=_schedule(batch_size=8, max_steps=500, learning_rate=3e-3, eval_every=100),
            max_length=512,
            max_train_pairs=None,
            max_eval_pairs=54,  # two pairs per intent
            context_answers=2,
            copy_match=6,
            sample_replies=5,
        ),
        ngram_order=4,
    ),
    "full": Gpt2Profile(
        name="full",
        pretrain=PretrainProfile(
            architecture=Gpt2Architecture(n_layer=4, n_head=4, n_embd=192, n_positions=512, dropout=0.1),
            # 16 x 128 tokens a step: 5,000 steps see ~10M tokens, about six passes over the text, so
            # dropout keeps the later passes from memorising it.
            schedule=_schedule(batch_size=16, max_steps=5000, learning_rate=3e-3, eval_every=500),
            block_size=128,
            max_valid_blocks=64,
            vocab_size=8192,
            max_train_documents=None,
        ),
        generator=GeneratorFinetuneProfile(
            schedule=_schedule(batch_size=16, max_steps=600, learning_rate=1e-3, eval_every=100),
            block_size=128,
            max_valid_blocks=64,
            max_train_documents=None,
            copy_match=6,
        ),
        replies=RepliesFinetuneProfile(
            schedule=_schedule(batch_size=8, max_steps=800, learning_rate=1e-3, eval_every=100),
            max_length=512,
            max_train_pairs=None,
            max_eval_pairs=108,  # four pairs per intent
            context_answers=2,
            copy_match=6,
            sample_replies=5,
        ),
        ngram_order=4,
    ),
}


def _starter(quick: Gpt2Profile) -> Gpt2Profile:
    """What a first run serves while quick trains behind it (`queuebot up`): quick's recipe with a
    quarter of the steps or fewer, so that each model's validation figure is scored on the same text
    and compares with quick's. It is scored once, at its last step: with so few steps a mid-way
    checkpoint never wins, and each evaluation is seconds of a first run's wait."""

    def steps(schedule: TrainingSchedule, max_steps: int, eval_every: int) -> TrainingSchedule:
        return _schedule(schedule.batch_size, max_steps, schedule.learning_rate, eval_every)

    return replace(
        quick,
        name="starter",
        pretrain=replace(quick.pretrain, schedule=steps(quick.pretrain.schedule, 200, 200)),
        generator=replace(quick.generator, schedule=steps(quick.generator.schedule, 50, 50)),
        replies=replace(quick.replies, schedule=steps(quick.replies.schedule, 100, 100)),
    )


GPT2_PROFILES["starter"] = _starter(GPT2_PROFILES["quick"])


def get_gpt2_profile(name: str) -> Gpt2Profile:
    try:
        return GPT2_PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown GPT-2 profile {name!r}; choose one of {sorted(GPT2_PROFILES)}") from None
