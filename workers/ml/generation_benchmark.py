"""Throughput of batched decoding against one-request-at-a-time generation, on a loaded generator.

A measurement tool, not a test: the figures depend on the machine, its load and the model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from workers.ml.generator import GenerationRequest, TextGenerator

log = logging.getLogger(__name__)

TEMPERATURE, TOP_P = 0.8, 0.95
# The openings the benchmark's requests cycle through: the news generator's kind of text.
NEWS_PROMPTS = (
    "The government said",
    "Shares in the company",
    "The new film",
    "Scientists have found",
    "The team manager",
    "Mobile phone sales",
    "The Prime Minister",
    "Oil prices",
)


def measure_generation(
    generator: TextGenerator,
    prompts: Sequence[str],
    concurrency: int = 16,
    max_new_tokens: int = 64,
    rounds: int = 3,
) -> dict[str, float]:
    """Generated tokens per second for ``concurrency`` requests (a) as one ``generate_batch`` call and
    (b) one after another through ``generate`` (Hugging Face ``generate``, batch of one).

    The requests cycle through ``prompts``; request i samples (temperature 0.8, top-p 0.95) with seed i
    on both paths. Rows still stop at end-of-text, so the two paths need not produce the same number of
    tokens: each side's rate counts only the tokens it generated, measured by re-encoding the returned
    texts with the model's tokenizer (prompt excluded; the same counting for both paths). With the
    trained models a continuation rarely ends within 64 tokens, so both sides come close to
    ``concurrency * max_new_tokens``; the totals are returned so a reader can check. Both paths are
    warmed up first (one short call each), so neither pays for first-call allocations.

    Also returned, as (c): the same requests one after another through ``generate_batch`` with a batch
    of one (``one_by_one_*``), which separates the gain from batching from the difference between this
    project's decode loop and Hugging Face's.

    The three paths take turns for ``rounds`` rounds, and each rate is its tokens over its seconds summed
    over the rounds: a single batched pass lasts well under a second, so timed once it caught whatever
    the machine's speed did in that second (docs/benchmarks.md, "Decoding"), whereas interleaved rounds
    expose both sides to the same drift.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    if not prompts:
        raise ValueError("no prompts to measure with")
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    requests = [
        GenerationRequest(prompts[i % len(prompts)], max_new_tokens, TEMPERATURE, TOP_P, 1, seed=i)
        for i in range(concurrency)
    ]
    generator.generate_batch(requests[:2])
    _generate_one(generator, requests[0])

    paths: dict[str, Callable[[], list[str]]] = {
        "batched": lambda: [texts[0] for texts in generator.generate_batch(requests)],
        "sequential": lambda: [_generate_one(generator, request) for request in requests],
        "one_by_one": lambda: [generator.generate_batch([request])[0][0] for request in requests],
    }
    tokens = dict.fromkeys(paths, 0)
    seconds = dict.fromkeys(paths, 0.0)
    for _ in range(rounds):
        for name, run in paths.items():
            started = time.perf_counter()
            texts = run()
            seconds[name] += time.perf_counter() - started
            tokens[name] += _count_tokens(generator, texts)

    figures = {
        "concurrency": float(concurrency),
        "max_new_tokens": float(max_new_tokens),
        "rounds": float(rounds),
    }
    for name in paths:
        figures[f"{name}_tokens"] = float(tokens[name])
        figures[f"{name}_seconds"] = round(seconds[name], 3)
        figures[f"{name}_tokens_per_s"] = round(tokens[name] / seconds[name], 1)
    figures["speedup"] = round(figures["batched_tokens_per_s"] / figures["sequential_tokens_per_s"], 2)
    log.info("generation benchmark: %s", figures)
    return figures


def _generate_one(generator: TextGenerator, request: GenerationRequest) -> str:
    (text,) = generator.generate(
        request.prompt,
        max_new_tokens=request.max_new_tokens,
        temperature=request.temperature,
        top_p=request.top_p,
        num_return_sequences=1,
        seed=request.seed,
    )
    return text


def _count_tokens(generator: TextGenerator, texts: Sequence[str]) -> int:
    return sum(len(ids) for ids in generator.tokenizer(list(texts))["input_ids"]) if texts else 0
