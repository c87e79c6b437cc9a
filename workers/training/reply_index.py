"""Build the reply retriever: embed every customer-support question once, store the vectors."""

from __future__ import annotations

import csv
import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workers.ml.device import resolve_device
from workers.ml.embedding import SentenceEncoder, minilm_path
from workers.ml.info import ModelInfo, write_info
from workers.ml.retriever import EMBEDDINGS_FILE, ENCODER_DIR, ENTRIES_FILE, KIND
from workers.training.common import (
    MINILM_BASE,
    count_parameters,
    new_info,
    seed_everything,
    stratified_indices,
    write_model_card,
)

log = logging.getLogger(__name__)

SUPPORT_FILE = "customer_support/bitext_train.csv"
DATA_FILES = (SUPPORT_FILE,)


@dataclass(frozen=True)
class ReplyIndexProfile:
    rows: int | None  # stratified by intent, so every intent is present; None: every row
    eval_queries: int  # indexed questions used as leave-one-out queries for the metric


# Embedding all 4,061 questions takes ~14 s on 2 CPU cores, so quick and full index everything.
PROFILES = {
    "tiny": ReplyIndexProfile(rows=300, eval_queries=60),
    "quick": ReplyIndexProfile(rows=None, eval_queries=500),
    "full": ReplyIndexProfile(rows=None, eval_queries=1000),
}


def read_support_pairs(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            {
                "question": row["instruction"],
                "answer": row["response"],
                "intent": row["intent"],
                "category": row["category"],
            }
            for row in csv.DictReader(handle)
        ]


def leave_one_out_agreement(
    embeddings: np.ndarray, entries: list[dict[str, str]], queries: np.ndarray
) -> dict[str, float]:
    """Share of queries whose nearest other question has the same intent (and category).

    The data holds near-copies of the same question; candidates with the query's exact text are
    excluded too, or the metric would partly measure string equality.
    """
    scores = embeddings[queries] @ embeddings.T
    rows_by_text: dict[str, list[int]] = defaultdict(list)
    for i, entry in enumerate(entries):
        rows_by_text[_normalised(entry["question"])].append(i)
    for row, query in enumerate(queries):
        scores[row, rows_by_text[_normalised(entries[query]["question"])]] = -np.inf
    pairs = [(entries[q], entries[n]) for q, n in zip(queries, scores.argmax(axis=1), strict=True)]
    return {
        f"loo_top1_{field}_accuracy": round(float(np.mean([a[field] == b[field] for a, b in pairs])), 4)
        for field in ("intent", "category")
    }


def _normalised(text: str) -> str:
    return " ".join(text.lower().split())


def build_reply_index(data_dir: Path, out_dir: Path, profile: str, device: str, seed: int = 0) -> ModelInfo:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    config = PROFILES[profile]
    device = resolve_device(device)
    seed_everything(seed)

    pairs = read_support_pairs(data_dir / SUPPORT_FILE)
    entries = [pairs[i] for i in stratified_indices([p["intent"] for p in pairs], config.rows, seed)]
    encoder = SentenceEncoder.load(minilm_path(), device)

    started = time.perf_counter()
    embeddings = encoder.encode([entry["question"] for entry in entries])
    embedding_seconds = time.perf_counter() - started

    queries = np.sort(
        np.random.default_rng(seed).choice(
            len(entries), size=min(config.eval_queries, len(entries)), replace=False
        )
    )
    info = new_info(
        name="reply-retriever",
        kind=KIND,
        profile=profile,
        base=MINILM_BASE,
        parameters=count_parameters(encoder.model),
        device=device,
        data={
            "support_file": SUPPORT_FILE,
            "rows": len(entries),
            "intents": len({entry["intent"] for entry in entries}),
            "selection": "every row" if config.rows is None else f"stratified by intent, seed {seed}",
            "eval_queries": len(queries),
            "licence": "CDLA-Sharing-1.0 (Bitext customer support data set)",
        },
    )
    info.training_seconds = round(embedding_seconds, 2)
    info.metrics = leave_one_out_agreement(embeddings, entries, queries)
    log.info(
        "reply index: %d questions embedded in %.1f s, metrics %s",
        len(entries),
        embedding_seconds,
        info.metrics,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    encoder.save(out_dir / ENCODER_DIR)
    np.save(out_dir / EMBEDDINGS_FILE, embeddings)
    with (out_dir / ENTRIES_FILE).open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(entry, ensure_ascii=False) + "\n" for entry in entries)
    write_info(out_dir, info)
    _write_card(out_dir, info)
    return info


def _write_card(folder: Path, info: ModelInfo) -> None:
    write_model_card(
        folder,
        title="queuebot reply retriever",
        summary=(
            "Finds the stored customer-support questions closest to a message and returns their agent "
            "replies. No training: all-MiniLM-L6-v2 sentence embeddings (mean pooling, L2-normalised), "
            "cosine similarity, exact top-k search."
        ),
        info=info,
        sections={
            "Data": (
                f"`{SUPPORT_FILE}` (Bitext, CDLA-Sharing-1.0): {info.data['rows']} question/reply pairs "
                f"({info.data['selection']}), {info.data['intents']} intents. Replies keep the data set's "
                "placeholders such as `{{Order Number}}`; whoever shows a reply must fill or remove them."
            ),
            "Files": (
                f"`{ENCODER_DIR}/` the encoder (model and tokenizer), `{EMBEDDINGS_FILE}` one float32 row "
                f"per question, `{ENTRIES_FILE}` the question, answer, intent and category of each row, in "
                "the same order."
            ),
            "Evaluation": (
                f"Leave-one-out on {info.data['eval_queries']} indexed questions (seeded sample): each is "
                "searched against all other questions, excluding rows with exactly the same text, and "
                "counted correct when the best hit has the same intent (category). The data set is "
                "template-generated, so questions of one intent are close paraphrases: the numbers say "
                "the index works, not how it fares on real customers' wording."
            ),
        },
    )
