"""The causal-LM training loop the three GPT-2 builds share.

AdamW (no weight decay on biases and LayerNorm gains), linear warm-up then linear decay, gradient
clipping, length-bucketed batches, and early stopping on a validation loss that keeps the best weights.
Losses are per target token (labels other than IGNORE_INDEX), so padding and masked prompt tokens never
count, and perplexity is ``exp`` of the mean.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm
from transformers import PreTrainedModel, get_linear_schedule_with_warmup

from training.gpt2.data import IGNORE_INDEX, LmExample
from training.gpt2.profiles import TrainingSchedule

log = logging.getLogger(__name__)

# Batches are formed from pools of this many batches' worth of examples sorted by length, so a batch
# pads to similar lengths; the batches themselves are then shuffled.
_POOL_BATCHES = 16
_RECENT_STEPS = 20  # the reported training loss is the mean over this many last steps


@dataclass
class FitResult:
    steps: int
    best_step: int  # 0 when the weights before training were never beaten
    initial_valid_loss: float | None  # None unless evaluated before the first step
    best_valid_loss: float
    train_loss_end: float
    tokens_seen: int  # real (non-padding) tokens in the training batches
    target_tokens_seen: int  # of those, the ones the loss was taken on
    seconds: float
    stopped_early: bool
    evaluations: list[tuple[int, float]] = field(default_factory=list)  # (step, validation loss)


def collate(
    examples: Sequence[LmExample], pad_id: int, device: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask, labels), right-padded to the longest example."""
    width = max(len(example.input_ids) for example in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, example in enumerate(examples):
        length = len(example.input_ids)
        input_ids[row, :length] = torch.tensor(example.input_ids)
        labels[row, :length] = torch.tensor(example.labels)
        attention_mask[row, :length] = 1
    return input_ids.to(device), attention_mask.to(device), labels.to(device)


def loss_sum(
    model: PreTrainedModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    labels: torch.Tensor,
    position_ids: torch.Tensor | None = None,
) -> tuple[torch.Tensor, int]:
    """Summed next-token cross-entropy over the target tokens, and how many there were."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids).logits
    # Position t predicts token t + 1. Shifting the labels left (rather than slicing the logits) keeps the
    # batch x length x vocabulary logits contiguous, so no copy of them is made.
    targets = F.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX)
    total = F.cross_entropy(
        logits.view(-1, logits.shape[-1]).float(),
        targets.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )
    return total, int((targets != IGNORE_INDEX).sum())


def total_loss(
    model: PreTrainedModel, examples: Sequence[LmExample], batch_size: int, pad_id: int, device: str
) -> tuple[float, int]:
    """Summed loss over every target token of ``examples``, and how many there were; the model is left
    in the mode it was in."""
    if not examples:
        raise ValueError("no examples to evaluate")
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with torch.inference_mode():
            for start in range(0, len(examples), batch_size):
                batch_total, batch_count = loss_sum(
                    model, *collate(examples[start : start + batch_size], pad_id, device)
                )
                total, count = total + batch_total.item(), count + batch_count
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("the evaluation examples have no target tokens")
    return total, count


def target_logprobs(
    model: PreTrainedModel, examples: Sequence[LmExample], batch_size: int, pad_id: int, device: str
) -> list[np.ndarray]:
    """Per example, the log-probability of each of its target tokens, in order (what ``total_loss``
    sums, kept token by token so that it can be mixed with another model's)."""
    was_training = model.training
    model.eval()
    found: list[np.ndarray] = []
    try:
        with torch.inference_mode():
            for start in range(0, len(examples), batch_size):
                input_ids, attention_mask, labels = collate(
                    examples[start : start + batch_size], pad_id, device
                )
                logits = model(input_ids=input_ids, attention_mask=attention_mask).logits.float()
                targets = F.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX)
                scored = targets != IGNORE_INDEX
                picked = torch.log_softmax(logits, dim=-1).gather(-1, targets.clamp(min=0)[..., None])[..., 0]
                found.extend(picked[row][scored[row]].cpu().double().numpy() for row in range(len(picked)))
    finally:
        model.train(was_training)
    return found


def mean_loss(
    model: PreTrainedModel, examples: Sequence[LmExample], batch_size: int, pad_id: int, device: str
) -> float:
    """Mean loss per target token over ``examples``."""
    total, count = total_loss(model, examples, batch_size, pad_id, device)
    return total / count


def perplexity(loss: float) -> float:
    return math.exp(min(loss, 50.0))  # a diverged run reports a huge number, not an overflow


def fit(
    model: PreTrainedModel,
    train: Sequence[LmExample],
    valid: Sequence[LmExample],
    schedule: TrainingSchedule,
    *,
    pad_id: int,
    device: str,
    seed: int,
    name: str,
    evaluate_first: bool = False,
    spread_positions: bool = False,
) -> FitResult:
    """Train ``model`` in place; on return it holds the weights with the lowest validation loss.

    ``evaluate_first`` scores the weights before any step (a fine-tune's "before" figure); they then
    compete for "best" like any later evaluation, so a fine-tune that only hurts returns its base.
    ``spread_positions`` places each training block at a random offset in the context window: blocks
    shorter than the window then still train every position embedding. Many short blocks learn more per
    step than a few long ones early in training (sequence-length warm-up, Li et al. 2022), and the
    offsets keep the positions beyond the block length trained for serving's longer prompts.
    """
    if not train:
        raise ValueError(f"{name}: no training examples")
    optimizer = torch.optim.AdamW(_parameter_groups(model, schedule.weight_decay), lr=schedule.learning_rate)
    scheduler = get_linear_schedule_with_warmup(optimizer, schedule.warmup_steps, schedule.max_steps)

    def evaluate() -> float:
        return mean_loss(model, valid, schedule.batch_size, pad_id, device)

    result = FitResult(0, 0, None, math.inf, math.nan, 0, 0, 0.0, False)
    best_state: dict[str, torch.Tensor] | None = None
    if evaluate_first:
        result.initial_valid_loss = result.best_valid_loss = evaluate()
        result.evaluations.append((0, result.initial_valid_loss))
        log.info("%s: validation loss %.4f before training", name, result.initial_valid_loss)
        best_state = _snapshot(model)

    context = int(model.config.n_positions)
    generator = torch.Generator().manual_seed(seed + 1)  # the block offsets' own stream
    started = time.perf_counter()
    recent: list[float] = []
    stale = 0  # evaluations in a row without a new best
    batches = _batches(train, schedule.batch_size, seed)
    model.train()
    with tqdm(total=schedule.max_steps, desc=name, unit="step", disable=None) as progress:
        for step in range(1, schedule.max_steps + 1):
            input_ids, attention_mask, labels = collate(next(batches), pad_id, device)
            position_ids = _spread(input_ids, context, generator) if spread_positions else None
            total, count = loss_sum(model, input_ids, attention_mask, labels, position_ids)
            loss = total / max(count, 1)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)

            result.steps = step
            result.tokens_seen += int(attention_mask.sum())
            result.target_tokens_seen += count
            recent = [*recent[-(_RECENT_STEPS - 1) :], loss.item()]
            progress.update()
            progress.set_postfix(loss=f"{recent[-1]:.3f}")

            if step % schedule.eval_every and step != schedule.max_steps:
                continue
            valid_loss = evaluate()
            result.evaluations.append((step, valid_loss))
            elapsed = time.perf_counter() - started
            log.info(
                "%s: step %d/%d train loss %.4f, validation loss %.4f (perplexity %.1f), %.0f s, %.0f tok/s",
                name,
                step,
                schedule.max_steps,
                sum(recent) / len(recent),
                valid_loss,
                perplexity(valid_loss),
                elapsed,
                result.tokens_seen / elapsed,
            )
            if valid_loss < result.best_valid_loss:
                result.best_valid_loss, result.best_step, stale = valid_loss, step, 0
                best_state = _snapshot(model)
                continue
            stale += 1
            if stale >= schedule.patience and step < schedule.max_steps:
                log.info("%s: stopping early, no improvement in %d evaluations", name, stale)
                result.stopped_early = True
                break

    model.eval()
    result.seconds = time.perf_counter() - started
    result.train_loss_end = sum(recent) / len(recent)
    if best_state is not None and result.best_step != result.evaluations[-1][0]:
        log.info("%s: restoring the best weights, from step %d", name, result.best_step)
        model.load_state_dict(best_state)
    return result


def _spread(input_ids: torch.Tensor, context: int, generator: torch.Generator) -> torch.Tensor:
    """Position ids that start each row at a random offset where the whole row still fits the context."""
    rows, width = input_ids.shape
    offsets = torch.randint(0, max(1, context - width + 1), (rows, 1), generator=generator)
    return (torch.arange(width)[None, :] + offsets).to(input_ids.device)


def _parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, object]]:
    # Decay matrices (including the tied embedding); biases and LayerNorm gains are 1-D and left alone.
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]


def _snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def _batches(examples: Sequence[LmExample], batch_size: int, seed: int) -> Iterator[list[LmExample]]:
    """Endless seeded epochs; within a pool of examples, batches group similar lengths."""
    generator = torch.Generator().manual_seed(seed)
    pool_size = batch_size * _POOL_BATCHES
    while True:
        order = torch.randperm(len(examples), generator=generator).tolist()
        for start in range(0, len(order), pool_size):
            pool = sorted(order[start : start + pool_size], key=lambda i: len(examples[i].input_ids))
            chunks = [pool[i : i + batch_size] for i in range(0, len(pool), batch_size)]
            for chunk in torch.randperm(len(chunks), generator=generator).tolist():
                yield [examples[i] for i in chunks[chunk]]
