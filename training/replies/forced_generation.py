"""``queuebot evaluate-replies --force-generation``: the generation path alone, on every held-out question.

Routing sends most questions to an approved answer, so the pipeline's own evaluation says little about
the generated replies. Here every question is answered by the ``replies`` model from its nearest
approved answers, exactly as the worker asks it (``generation_request``) and vets it
(``vet_generated``), and each reply is scored on:

- grounding: the best MiniLM cosine to the approved answers it was written from; the share at or above
  the serving threshold is the share the worker would send;
- similarity: MiniLM cosine between the sent (guarded) reply and the question's reference reply, both
  made safe by the guard alike; a reply the guard left empty scores 0;
- the share of generated sentences the guard cut for amounts or links nothing approved backs.

The questions are the replies model's own held-out split (its seed, in its metadata), or any file of
question / intent / reference-reply rows. The approved answers are the other support pairs; an answer
whose text is the question's own reference is never shown to the model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from training.gpt2.data import (
    SUPPORT_FILE,
    SupportPair,
    read_extra_pairs,
    read_support_pairs,
    split_support_pairs,
)
from training.replies.evaluation import GENERATION_BATCH, in_memory_index
from workers.knowledge.embedding import load_kb_encoder
from workers.ml.generator import TextGenerator
from workers.replies.generation import CONTEXT_ANSWERS, generation_request, vet_generated
from workers.replies.guard import guard_reply, sentences

log = logging.getLogger(__name__)

# Nearest entries fetched per question, so that dropping its own reference still leaves enough.
_SEARCH_DEPTH = CONTEXT_ANSWERS + 3


class HeldOutSplit(StrEnum):
    TEST = "test"
    VALID = "valid"  # for choosing thresholds and recipes: the test split never chooses


@dataclass
class ForcedGeneration:
    questions: int
    source: str  # what the questions are, in words
    knowledge_entries: int
    min_grounding: float
    mean_grounding: float
    mean_similarity: float
    sentences_generated: int
    sentences_cut: int
    empty_share: float  # replies the guard left with nothing to send
    seconds: float
    model: dict[str, str]
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def grounded_share(self) -> float:
        """Grounding at or above the setting: the share the worker would send."""
        return self.grounded_at(self.min_grounding)

    def grounded_at(self, threshold: float) -> float:
        """The share of replies whose grounding reaches ``threshold``."""
        return float(np.mean(_groundings(self.examples) >= threshold))

    @property
    def cut_share(self) -> float:
        return self.sentences_cut / self.sentences_generated if self.sentences_generated else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "source": self.source,
            "knowledge_entries": self.knowledge_entries,
            "min_grounding": self.min_grounding,
            "grounded_share": round(self.grounded_share, 4),
            "mean_grounding": round(self.mean_grounding, 4),
            "mean_similarity": round(self.mean_similarity, 4),
            "sentences_generated": self.sentences_generated,
            "sentences_cut": self.sentences_cut,
            "cut_share": round(self.cut_share, 4),
            "empty_share": round(self.empty_share, 4),
            "seconds": round(self.seconds, 1),
            "model": self.model,
        }


def held_out_questions(
    data_dir: Path, replies_model: TextGenerator, split: HeldOutSplit, data_file: Path | None
) -> tuple[list[SupportPair], list[SupportPair], str]:
    """(questions, approved answers, description): the model's own held-out split against the other
    support pairs, or every row of ``data_file`` against all of them."""
    pairs = read_support_pairs(data_dir / SUPPORT_FILE)
    if data_file is not None:
        return read_extra_pairs(data_file), pairs, f"every row of {Path(data_file).name}"
    seed = replies_model.info.data.get("seed")
    if not isinstance(seed, int):
        raise ValueError(
            f"{replies_model.info.name} {replies_model.info.version} records no split seed; pass --data"
        )
    parts = split_support_pairs(pairs, seed)
    questions = parts.test if split is HeldOutSplit.TEST else parts.valid
    held = set(questions)
    knowledge = [pair for pair in pairs if pair not in held]
    return questions, knowledge, f"the replies model's {split.value} split (seed {seed})"


def evaluate_forced_generation(
    data_dir: Path,
    replies_model: TextGenerator,
    slot_values: Mapping[str, str],
    min_grounding: float,
    device: str,
    split: HeldOutSplit = HeldOutSplit.TEST,
    data_file: Path | None = None,
    limit: int | None = None,
) -> ForcedGeneration:
    started = time.perf_counter()
    questions, knowledge, source = held_out_questions(data_dir, replies_model, split, data_file)
    questions = questions[:limit]
    if not questions:
        raise ValueError("no questions to answer")
    encoder = load_kb_encoder(device)
    index = in_memory_index(encoder, knowledge)

    contexts = [_context(index, pair) for pair in questions]
    vetted = []
    for start in tqdm(range(0, len(questions), GENERATION_BATCH), desc="generating replies", disable=None):
        batch = range(start, min(start + GENERATION_BATCH, len(questions)))
        requests = [
            generation_request(replies_model, questions[i].question, [], contexts[i], questions[i].question)
            for i in batch
        ]
        for i, [decoded] in zip(batch, replies_model.generate_batch(requests), strict=True):
            vetted.append(
                vet_generated(
                    decoded, [questions[i].question], contexts[i], slot_values, encoder, min_grounding
                )
            )

    references = [
        guard_reply(pair.reply, [pair.question], slot_values, example_texts=[pair.question]).text
        for pair in questions
    ]
    sent = [reply.guarded.text for reply in vetted]
    similarity = np.sum(encoder.encode(sent) * encoder.encode(references), axis=1)
    similarity[[i for i, text in enumerate(sent) if not text]] = 0.0
    grounding = np.array([-1.0 if v.grounding is None else v.grounding for v in vetted])
    generated_sentences = sum(len(sentences(v.generated)) for v in vetted)
    return ForcedGeneration(
        questions=len(questions),
        source=source,
        knowledge_entries=len(knowledge),
        min_grounding=min_grounding,
        mean_grounding=float(np.mean(grounding)),
        mean_similarity=float(np.mean(similarity)),
        sentences_generated=generated_sentences,
        sentences_cut=sum(len(v.guarded.dropped_sentences) for v in vetted),
        empty_share=float(np.mean([not text for text in sent])),
        seconds=time.perf_counter() - started,
        model={replies_model.info.name: replies_model.info.version},
        examples=[
            {
                "question": pair.question,
                "intent": pair.intent,
                "context": context,
                "generated": reply.generated,
                "sent": reply.guarded.text,
                "refusal": reply.refusal,
                "grounding": None if reply.grounding is None else round(reply.grounding, 4),
                "reference": reference,
                "similarity": round(float(score), 4),
            }
            for pair, context, reply, reference, score in zip(
                questions, contexts, vetted, references, similarity, strict=True
            )
        ],
    )


def _context(index: Any, pair: SupportPair) -> list[str]:
    """The nearest approved answers, best first, never the question's own reference."""
    own = " ".join(pair.reply.split())
    hits = index.search(pair.question, k=_SEARCH_DEPTH)
    return [hit.answer for hit in hits if " ".join(hit.answer.split()) != own][:CONTEXT_ANSWERS]


@dataclass(frozen=True)
class GroundingThreshold:
    threshold: float
    precision: float  # of the replies at or above it, the share close to their reference
    recall: float  # of the replies close to their reference, the share at or above it
    close_share: float  # replies close to their reference, of all


def calibrate_grounding(report: ForcedGeneration, close_to_reference: float) -> GroundingThreshold:
    """The grounding threshold that best tells replies close to their reference (MiniLM cosine at least
    ``close_to_reference``) from the rest, by F1 over the report's questions. Run it on the validation
    split: the threshold it gives is then a setting, and the test split only measures it."""
    grounding = _groundings(report.examples)
    close = np.array([e["similarity"] >= close_to_reference for e in report.examples])
    if not close.any():
        raise ValueError(f"no reply is within {close_to_reference} of its reference: nothing to calibrate on")
    best: GroundingThreshold | None = None
    best_f1 = -1.0
    for threshold in np.round(np.arange(0.0, 1.0001, 0.01), 2):
        sent = grounding >= threshold
        if not sent.any():
            break
        precision = float(np.mean(close[sent]))
        recall = float(np.sum(close & sent) / np.sum(close))
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 > best_f1:
            best_f1, best = f1, GroundingThreshold(float(threshold), precision, recall, float(np.mean(close)))
    assert best is not None
    return best


def _groundings(examples: list[dict[str, Any]]) -> np.ndarray:
    """Each reply's grounding; -1 where the guard left nothing to measure."""
    return np.array([-1.0 if e["grounding"] is None else e["grounding"] for e in examples])


def worst_intents(report: ForcedGeneration, count: int = 5) -> list[tuple[str, float, int]]:
    """(intent, mean similarity, questions) of the intents with the lowest similarity."""
    by_intent: dict[str, list[float]] = {}
    for example in report.examples:
        by_intent.setdefault(example["intent"], []).append(example["similarity"])
    ranked = sorted((float(np.mean(v)), intent, len(v)) for intent, v in by_intent.items())
    return [(intent, mean, n) for mean, intent, n in ranked[:count]]
