"""Offline evaluation of the reply pipeline on questions it has never seen.

The held-out questions are exactly the intent model's test split (its seed and fractions, in its
metadata); the knowledge base is built from the other support pairs, embedded in memory, so no test
question or its reference reply is among the approved answers. Each test question goes through the
worker's own routing (``choose_route``), guard and generation code, and is scored on:

- routing: the share whose predicted intent is the reference intent;
- paths: the shares answered by template, generation and handoff;
- similarity: MiniLM cosine between the bot's reply and the reference reply, both made safe by the
  guard for that question (the reference's own placeholders and example numbers would otherwise
  count against any reply), overall and per path;

and, on CLINC150's held-out out-of-scope queries (the intent model's test half of ``oos_val``), the
share the intent model calls out of scope and the paths they take.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from core.job_results import ReplyPath
from db.models import KnowledgeEntry
from training.classifier.labelled_data import CUSTOMER_SUPPORT, LabelledTexts
from training.classifier.recipes import RECIPES
from training.gpt2.data import read_support_pairs
from training.splits import split
from workers.knowledge.embedding import load_kb_encoder
from workers.knowledge.index import KnowledgeIndex, KnowledgeVersion
from workers.ml.classifier import TextClassifier
from workers.ml.generator import TextGenerator
from workers.replies.answer import HANDOFF_TEXT
from workers.replies.generation import (
    CONTEXT_ANSWERS,
    generation_request,
    vet_generated,
)
from workers.replies.guard import guard_reply
from workers.replies.routing import OUT_OF_SCOPE, SEARCH_DEPTH, Route, choose_route

log = logging.getLogger(__name__)

GENERATION_BATCH = 16


@dataclass(frozen=True)
class PathFigures:
    share: float
    count: int
    mean_similarity: float | None


@dataclass
class ReplyEvaluation:
    questions: int
    knowledge_entries: int
    intent_accuracy: float
    paths: dict[str, PathFigures]
    mean_similarity: float
    out_of_scope_queries: int
    out_of_scope_recall: float
    out_of_scope_paths: dict[str, float]
    seconds: float
    models: dict[str, str]
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "knowledge_entries": self.knowledge_entries,
            "intent_accuracy": round(self.intent_accuracy, 4),
            "paths": {
                name: {"share": round(f.share, 4), "count": f.count, "mean_similarity": f.mean_similarity}
                for name, f in self.paths.items()
            },
            "mean_similarity": round(self.mean_similarity, 4),
            "out_of_scope_queries": self.out_of_scope_queries,
            "out_of_scope_recall": round(self.out_of_scope_recall, 4),
            "out_of_scope_paths": {name: round(share, 4) for name, share in self.out_of_scope_paths.items()},
            "seconds": round(self.seconds, 1),
            "models": self.models,
        }


def held_out_split(
    data_dir: Path, intent_model: TextClassifier
) -> tuple[list[int], list[int], LabelledTexts]:
    """(knowledge rows, test rows) of the support pairs, and the held-out out-of-scope queries, as the
    intent model was split: the split depends only on the labels' order, the seed and the fractions."""
    recipe = RECIPES[intent_model.info.name]
    if recipe.dataset != "customer-support":
        raise ValueError(f"{intent_model.info.name} was not trained on the customer-support intents")
    splits = recipe.make_splits(data_dir, recipe.split_spec)
    pairs = read_support_pairs(data_dir / CUSTOMER_SUPPORT)
    rows = LabelledTexts([str(i) for i in range(len(pairs))], [p.intent for p in pairs], "row numbers")
    row_splits = split(rows, recipe.split_spec)
    knowledge = [int(i) for i in (*row_splits.train.texts, *row_splits.valid.texts)]
    test = [int(i) for i in row_splits.test.texts]
    outside = [i for i, label in enumerate(splits.test.labels) if label == OUT_OF_SCOPE]
    return knowledge, test, splits.test.subset(outside)


def evaluate_replies(
    data_dir: Path,
    intent_model: TextClassifier,
    replies_model: TextGenerator,
    slot_values: Mapping[str, str],
    min_grounding: float,
    device: str,
    limit: int | None = None,
) -> ReplyEvaluation:
    started = time.perf_counter()
    pairs = read_support_pairs(data_dir / CUSTOMER_SUPPORT)
    knowledge_rows, test_rows, outside = held_out_split(data_dir, intent_model)
    if limit is not None:
        test_rows = test_rows[:limit]
    encoder = load_kb_encoder(device)
    index = in_memory_index(encoder, [pairs[i] for i in knowledge_rows])

    questions = [pairs[i].question for i in test_rows]
    predictions = intent_model.classify(questions)
    routes = [
        choose_route(p.label, index.search(q, k=SEARCH_DEPTH))
        for p, q in zip(predictions, questions, strict=True)
    ]
    replies, path_names = _write_replies(
        questions, routes, index, replies_model, slot_values, encoder, min_grounding
    )

    references = [
        guard_reply(pairs[i].reply, [pairs[i].question], slot_values, example_texts=[pairs[i].question]).text
        for i in test_rows
    ]
    similarity = np.sum(encoder.encode(replies) * encoder.encode(references), axis=1)
    paths = {}
    for path in ReplyPath:
        chosen = [i for i, name in enumerate(path_names) if name == path.value]
        paths[path.value] = PathFigures(
            share=len(chosen) / len(routes),
            count=len(chosen),
            mean_similarity=round(float(np.mean(similarity[chosen])), 4) if chosen else None,
        )

    outside_predictions = intent_model.classify(outside.texts)
    outside_routes = [
        choose_route(p.label, index.search(q, k=SEARCH_DEPTH))
        for p, q in zip(outside_predictions, outside.texts, strict=True)
    ]
    outside_paths = Counter(route.path.value for route in outside_routes)
    examples = [
        {
            "question": questions[i],
            "intent": pairs[test_rows[i]].intent,
            "predicted": predictions[i].label,
            "path": path_names[i],
            "reply": replies[i],
            "reference": references[i],
            "similarity": round(float(similarity[i]), 4),
        }
        for i in range(len(questions))
    ]
    return ReplyEvaluation(
        questions=len(questions),
        knowledge_entries=len(knowledge_rows),
        intent_accuracy=float(
            np.mean([p.label == pairs[i].intent for p, i in zip(predictions, test_rows, strict=True)])
        ),
        paths=paths,
        mean_similarity=float(np.mean(similarity)),
        out_of_scope_queries=len(outside),
        out_of_scope_recall=float(np.mean([p.label == OUT_OF_SCOPE for p in outside_predictions])),
        out_of_scope_paths={path.value: outside_paths[path.value] / len(outside) for path in ReplyPath},
        seconds=time.perf_counter() - started,
        models={
            intent_model.info.name: intent_model.info.version,
            replies_model.info.name: replies_model.info.version,
        },
        examples=examples,
    )


def in_memory_index(encoder: Any, pairs: Sequence[Any]) -> KnowledgeIndex:
    """The knowledge base as ``kb import`` would store these pairs (one entry per question here:
    every support pair has its own reply), searched by the worker's index class."""
    entries = [
        KnowledgeEntry(id=number, intent=pair.intent, category=pair.category, answer=pair.reply)
        for number, pair in enumerate(pairs, start=1)
    ]
    questions = [pair.question for pair in pairs]
    log.info("embedding %d knowledge-base questions", len(questions))
    vectors = encoder.encode(questions)
    return KnowledgeIndex(encoder, vectors, questions, entries, KnowledgeVersion(len(questions), None, None))


def _write_replies(
    questions: Sequence[str],
    routes: Sequence[Route],
    index: KnowledgeIndex,
    replies_model: TextGenerator,
    slot_values: Mapping[str, str],
    encoder: Any,
    min_grounding: float,
) -> tuple[list[str], list[str]]:
    """The reply to each question, and the path that finally answered it."""
    replies = [HANDOFF_TEXT] * len(questions)
    paths = [route.path.value for route in routes]
    for i, route in enumerate(routes):
        if route.path is ReplyPath.TEMPLATE:
            assert route.answer is not None
            guarded = guard_reply(
                route.answer.answer, [questions[i]], slot_values, example_texts=[route.answer.question]
            )
            replies[i] = guarded.text
    generated = [i for i, route in enumerate(routes) if route.path is ReplyPath.GENERATION]
    for start in tqdm(range(0, len(generated), GENERATION_BATCH), desc="generating replies", disable=None):
        batch = generated[start : start + GENERATION_BATCH]
        contexts = [[hit.answer for hit in index.search(questions[i], k=CONTEXT_ANSWERS)] for i in batch]
        requests = [
            generation_request(replies_model, questions[i], [], context, seed_text=questions[i])
            for i, context in zip(batch, contexts, strict=True)
        ]
        for i, context, [decoded] in zip(
            batch, contexts, replies_model.generate_batch(requests), strict=True
        ):
            # As in the worker: a reply with nothing sendable, or one that strays, hands over.
            vetted = vet_generated(decoded, [questions[i]], context, slot_values, encoder, min_grounding)
            if vetted.refusal is None:
                replies[i] = vetted.guarded.text
            else:
                paths[i] = ReplyPath.HANDOFF.value
    return replies, paths
