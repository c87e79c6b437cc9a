"""Fine-tune MiniLM (a BERT encoder) as a sequence classifier, with early stopping on validation."""

from __future__ import annotations

import copy
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, f1_score
from tqdm import tqdm
from transformers import (
    AutoTokenizer,
    BertForSequenceClassification,
    PreTrainedTokenizerBase,
    get_linear_schedule_with_warmup,
)
from transformers.utils import logging as transformers_logging

from training.classifier.labelled_data import LabelledTexts
from workers.ml.classifier import TextClassifier
from workers.ml.embedding import minilm_path
from workers.ml.int8_runtime import Int8Classifier
from workers.ml.linear_head import LinearHeadClassifier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitConfig:
    max_epochs: int
    patience: int  # epochs without a better validation score before stopping
    batch_size: int
    learning_rate: float
    warmup_ratio: float
    weight_decay: float
    max_length: int
    # Inverse-frequency loss weights: without them a short fine-tune on skewed data (FPB is 59 %
    # neutral) learns the majority class first. The weighted loss learns p(y|x) / p(y), so the head's
    # bias carries log p(y) (logit adjustment) and the saved model predicts with the training prior:
    # calibrated probabilities, and on FPB +2.5 points of accuracy over the balanced decision.
    balance_classes: bool
    # The 11.7M-parameter word-embedding matrix is half of MiniLM; freezing it makes each CPU step
    # cheaper and keeps rare words' pre-trained vectors intact on small data sets.
    freeze_word_embeddings: bool = True


@dataclass
class FitResult:
    model: BertForSequenceClassification | LinearHeadClassifier  # what is saved
    tokenizer: PreTrainedTokenizerBase
    best_epoch: int
    epochs_run: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    # What the figures are measured with, where not ``model``: a linear head fitted on the int8
    # encoder's vectors is measured on them (``head.py``).
    measured_with: Int8Classifier | None = None

    @property
    def measured(self) -> BertForSequenceClassification | LinearHeadClassifier | Int8Classifier:
        return self.model if self.measured_with is None else self.measured_with


def new_classifier(labels: Sequence[str]) -> tuple[BertForSequenceClassification, PreTrainedTokenizerBase]:
    tokenizer = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
    # The head is new by design; transformers' report that its weights are "MISSING" is noise here.
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    try:
        model = BertForSequenceClassification.from_pretrained(
            minilm_path(),
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            local_files_only=True,
        )
    finally:
        transformers_logging.set_verbosity(verbosity)
    return model, tokenizer


def check_fit_inputs(
    train: LabelledTexts, valid: LabelledTexts, labels: Sequence[str], selection_metric: str
) -> None:
    """Refuse an unknown selection metric, and data with labels the model lacks."""
    if selection_metric not in {"accuracy", "macro_f1"}:
        raise ValueError(f"unknown selection metric {selection_metric!r}")
    unknown = (set(train.labels) | set(valid.labels)) - set(labels)
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} are not among the model's labels")


def fit_classifier(
    train: LabelledTexts,
    valid: LabelledTexts,
    labels: Sequence[str],
    config: FitConfig,
    device: str,
    seed: int,
    selection_metric: str = "accuracy",
) -> FitResult:
    """Train for up to ``max_epochs``; return the weights of the epoch with the best validation score."""
    check_fit_inputs(train, valid, labels, selection_metric)
    torch.manual_seed(seed)
    model, tokenizer = new_classifier(labels)
    model.to(device)
    if config.freeze_word_embeddings:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)

    label_ids = {label: i for i, label in enumerate(labels)}
    encoded = tokenizer(train.texts, truncation=True, max_length=config.max_length)["input_ids"]
    targets = [label_ids[label] for label in train.labels]
    weights = prior_offset = None
    if config.balance_classes:
        weights = class_weights(train.labels, labels).to(device)
        prior_offset = log_prior(train.labels, labels).to(device)
        with torch.no_grad():
            model.classifier.bias += prior_offset

    steps_per_epoch = -(-len(encoded) // config.batch_size)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    total_steps = steps_per_epoch * config.max_epochs
    schedule = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)

    rng = random.Random(seed)
    best_score, best_epoch, best_state = -1.0, 0, None
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    for epoch in range(1, config.max_epochs + 1):
        model.train()
        losses = []
        progress = tqdm(
            _length_bucketed_batches(encoded, config.batch_size, rng), desc=f"epoch {epoch}", disable=None
        )
        for batch in progress:
            inputs = tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt").to(device)
            gold = torch.tensor([targets[i] for i in batch], device=device)
            logits = model(**inputs).logits
            if prior_offset is not None:
                logits = logits - prior_offset  # the weighted loss sees the balanced logits
            loss = F.cross_entropy(logits, gold, weight=weights)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            progress.set_postfix(loss=f"{loss.item():.3f}")
        model.eval()
        scores = validation_scores(model, tokenizer, valid, labels, device)
        record = {"epoch": epoch, "train_loss": round(sum(losses) / len(losses), 4), **scores}
        history.append(record)
        log.info("epoch %d/%d: %s", epoch, config.max_epochs, record)
        if scores[selection_metric] > best_score:
            best_score, best_epoch = scores[selection_metric], epoch
            best_state = copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= config.patience:
            log.info(
                "stopping early: no better validation %s for %d epochs", selection_metric, config.patience
            )
            break
    assert best_state is not None  # at least one epoch ran
    model.load_state_dict(best_state)
    model.eval()
    return FitResult(model, tokenizer, best_epoch, len(history), time.perf_counter() - started, history)


def validation_scores(
    model: BertForSequenceClassification,
    tokenizer: PreTrainedTokenizerBase,
    data: LabelledTexts,
    labels: Sequence[str],
    device: str,
) -> dict[str, float]:
    probabilities = TextClassifier.probabilities_of(model, tokenizer, data.texts, device)
    predicted = [labels[i] for i in probabilities.argmax(axis=1)]
    return {
        "accuracy": round(float(accuracy_score(data.labels, predicted)), 4),
        "macro_f1": round(float(f1_score(data.labels, predicted, labels=list(labels), average="macro")), 4),
    }


def class_weights(train_labels: Sequence[str], labels: Sequence[str]) -> torch.Tensor:
    counts = [train_labels.count(label) for label in labels]
    if 0 in counts:
        missing = [label for label, count in zip(labels, counts, strict=True) if count == 0]
        raise ValueError(f"no training example for label(s) {missing}")
    return torch.tensor([len(train_labels) / (len(labels) * count) for count in counts], dtype=torch.float)


def log_prior(train_labels: Sequence[str], labels: Sequence[str]) -> torch.Tensor:
    counts = torch.tensor([train_labels.count(label) for label in labels], dtype=torch.float)
    return torch.log(counts / counts.sum())


def _length_bucketed_batches(
    encoded: list[list[int]], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Shuffled batches of similar-length texts: far less padding, so each CPU step does less work.

    Texts are shuffled, cut into pools of 50 batches, sorted by length within a pool, batched, and the
    batches shuffled again, so the order still differs every epoch.
    """
    order = list(range(len(encoded)))
    rng.shuffle(order)
    pool = batch_size * 50
    result: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: len(encoded[i]))
        result.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(result)
    return result
