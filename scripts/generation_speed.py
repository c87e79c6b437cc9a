"""Decoding speed of the served news generator alone: what ``queuebot benchmark`` reports as its
generation figures, without the rest of the benchmark, so that two commits can be compared side by side.

    PYTHONPATH=. python scripts/generation_speed.py LABEL [ROUNDS]

Run it from each tree in turn, alternating, on the same models folder (settings' ``models_dir``): one
JSON line per run with the batched, sequential (Hugging Face ``generate``) and one-by-one (this
project's loop, a batch of one) rates in tokens/s, and batched over sequential.
"""

from __future__ import annotations

import json
import logging
import sys

from core.long_lived import freeze_start_up_objects
from core.settings import get_settings
from workers.ml.device import resolve_device
from workers.ml.generation_benchmark import NEWS_PROMPTS, measure_generation
from workers.ml.generator import TextGenerator
from workers.model_store import ModelStore

FIGURES = ("batched_tokens_per_s", "sequential_tokens_per_s", "one_by_one_tokens_per_s", "speedup")


def main(label: str, rounds: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    settings = get_settings()
    generator = TextGenerator.load(
        ModelStore(settings.models_dir).folder("generator"), resolve_device(settings.device)
    )
    freeze_start_up_objects()  # as a worker decodes (cli/benchmark.py does the same)
    measured = measure_generation(generator, NEWS_PROMPTS, concurrency=16, max_new_tokens=64, rounds=rounds)
    print(json.dumps({"label": label, **{name: measured[name] for name in FIGURES}}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3)
