"""Fine-tune MiniLM (a BERT encoder) into the three-way sentiment classifier on finance tweets."""

from __future__ import annotations

import csv
import logging
import time
from pathlib import Path

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

from workers.ml.device import resolve_device
from workers.ml.embedding import minilm_path
from workers.ml.info import ModelInfo, write_info
from workers.ml.loading import batches
from workers.ml.sentiment import KIND, LABELS, SentimentClassifier
from workers.training.common import (
    MINILM_BASE,
    count_parameters,
    new_info,
    seed_everything,
    stratified_indices,
    write_model_card,
)
from workers.training.profiles import SentimentProfile, get_profile

log = logging.getLogger(__name__)

TRAIN_FILE = "sentiment/twitter_financial_news/sent_train.csv"
VALID_FILE = "sentiment/twitter_financial_news/sent_valid.csv"
DATA_FILES = (TRAIN_FILE, VALID_FILE)
# The data set's own labels: 0 bearish, 1 bullish, 2 neutral.
SOURCE_LABELS = {0: "negative", 1: "positive", 2: "neutral"}


def read_labelled_tweets(path: Path) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            texts.append(row["text"])
            labels.append(SOURCE_LABELS[int(row["label"])])
    return texts, labels


def train_sentiment(data_dir: Path, out_dir: Path, profile: str, device: str, seed: int = 0) -> ModelInfo:
    config = get_profile(profile).sentiment
    device = resolve_device(device)
    seed_everything(seed)

    train_texts, train_labels = _sample(*read_labelled_tweets(data_dir / TRAIN_FILE), config.train_rows, seed)
    valid_texts, valid_labels = _sample(*read_labelled_tweets(data_dir / VALID_FILE), config.valid_rows, seed)
    log.info("sentiment: %d training and %d validation tweets", len(train_texts), len(valid_texts))

    label2id = {label: i for i, label in enumerate(LABELS)}
    tokenizer = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
    model = BertForSequenceClassification.from_pretrained(
        minilm_path(),
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id=label2id,
        local_files_only=True,
    ).to(device)

    class_weights = balanced_class_weights(train_labels) if config.balance_classes else [1.0] * len(LABELS)
    started = time.perf_counter()
    train_loss = _fit(
        model,
        tokenizer,
        train_texts,
        [label2id[x] for x in train_labels],
        torch.tensor(class_weights, device=device),
        config,
        device,
        seed,
    )
    training_seconds = time.perf_counter() - started

    info = new_info(
        name="sentiment",
        kind=KIND,
        profile=profile,
        base=MINILM_BASE,
        parameters=count_parameters(model),
        device=device,
        data={
            "train_file": TRAIN_FILE,
            "valid_file": VALID_FILE,
            "train_rows": len(train_texts),
            "valid_rows": len(valid_texts),
            "split": (
                f"training: {_selection(config.train_rows, seed)} of {TRAIN_FILE}; "
                f"validation: {_selection(config.valid_rows, seed)} of {VALID_FILE} (no tweet in both)"
            ),
            "label_mapping": {str(k): v for k, v in SOURCE_LABELS.items()},
            "class_weights": dict(zip(LABELS, [round(w, 4) for w in class_weights], strict=True)),
            "licence": "MIT (twitter-financial-news)",
        },
    )
    info.training_seconds = round(training_seconds, 2)
    # Measure through the same class the workers use, so the numbers describe what serves requests.
    predictions = SentimentClassifier(model, tokenizer, info, device).classify(valid_texts, batch_size=64)
    predicted = [p.label for p in predictions]
    info.metrics = {
        "val_accuracy": round(float(accuracy_score(valid_labels, predicted)), 4),
        "val_macro_f1": round(
            float(f1_score(valid_labels, predicted, labels=list(LABELS), average="macro")), 4
        ),
        # What always answering the most frequent class would score: the bar the model must clear.
        "val_majority_class_accuracy": round(max(map(valid_labels.count, LABELS)) / len(valid_labels), 4),
        "train_loss_last_epoch": round(train_loss, 4),
    }
    log.info("sentiment: metrics %s after %.1f s", info.metrics, training_seconds)

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    write_info(out_dir, info)
    _write_card(out_dir, info, config, seed)
    return info


def balanced_class_weights(labels: list[str]) -> list[float]:
    """n / (classes * count) per label, in LABELS order, so every class adds the same total to the loss."""
    return [len(labels) / (len(LABELS) * labels.count(label)) for label in LABELS]


def _selection(size: int | None, seed: int) -> str:
    return "every row" if size is None else f"a class-stratified random sample (seed {seed})"


def _sample(texts: list[str], labels: list[str], size: int | None, seed: int) -> tuple[list[str], list[str]]:
    keep = stratified_indices(labels, size, seed)
    return [texts[i] for i in keep], [labels[i] for i in keep]


def _fit(
    model: BertForSequenceClassification,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    label_ids: list[int],
    class_weights: torch.Tensor,
    config: SentimentProfile,
    device: str,
    seed: int,
) -> float:
    """Plain AdamW loop with linear warm-up and decay; returns the mean loss of the last epoch."""
    steps_per_epoch = -(-len(texts) // config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    schedule = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    order_rng = torch.Generator().manual_seed(seed)
    model.train()
    epoch_loss = 0.0
    for epoch in range(config.epochs):
        order = torch.randperm(len(texts), generator=order_rng).tolist()
        losses = []
        progress = tqdm(
            list(batches(order, config.batch_size)), desc=f"sentiment epoch {epoch + 1}", disable=None
        )
        for batch in progress:
            inputs = tokenizer(
                [texts[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=config.max_length,
                return_tensors="pt",
            ).to(device)
            labels = torch.tensor([label_ids[i] for i in batch], device=device)
            loss = F.cross_entropy(model(**inputs).logits, labels, weight=class_weights)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            progress.set_postfix(loss=f"{loss.item():.3f}")
        epoch_loss = sum(losses) / len(losses)
        log.info("sentiment: epoch %d/%d mean loss %.4f", epoch + 1, config.epochs, epoch_loss)
    model.eval()
    return epoch_loss


def _write_card(folder: Path, info: ModelInfo, config: SentimentProfile, seed: int) -> None:
    write_model_card(
        folder,
        title="queuebot sentiment classifier",
        summary=(
            "all-MiniLM-L6-v2 (a 6-layer BERT encoder) with a new 3-way classification head, fine-tuned "
            "here on finance tweets. Labels, in model order: " + ", ".join(LABELS) + "."
        ),
        info=info,
        sections={
            "Data": (
                f"twitter-financial-news (MIT), the data set's own split. Training: "
                f"{info.data['train_rows']} rows, {_selection(config.train_rows, seed)} of `{TRAIN_FILE}`. "
                "Validation: "
                f"{info.data['valid_rows']} rows, {_selection(config.valid_rows, seed)} of `{VALID_FILE}`. "
                "No tweet is in both files. Label mapping from the data set: 0 bearish -> negative, "
                "1 bullish -> positive, "
                "2 neutral -> neutral. The classes are unbalanced (about 65 % neutral): read macro-F1 "
                "next to accuracy, and accuracy next to the majority-class baseline in the metrics."
            ),
            "Training": (
                f"{config.epochs} epoch(s), batch {config.batch_size}, AdamW lr {config.learning_rate}, "
                f"weight decay {config.weight_decay}, linear warm-up over {config.warmup_ratio:.0%} of the "
                f"steps then linear decay, gradient clipping at 1.0, inputs truncated to "
                f"{config.max_length} tokens (128 at inference). Cross-entropy weighted per class "
                f"{info.data['class_weights']} (inverse frequency) so the minority classes are learnt."
            ),
            "Limits": (
                "Trained on short English finance tweets; other domains (product reviews, support chats) "
                "are out of distribution. A quick profile trains for minutes on a CPU and is below what a "
                "full fine-tune reaches."
            ),
        },
    )
