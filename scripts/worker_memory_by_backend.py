"""Resident memory of a process holding the classifiers and the sentence encoder, per backend.

    PYTHONPATH=. python scripts/worker_memory_by_backend.py torch [model ...]
    PYTHONPATH=. python scripts/worker_memory_by_backend.py onnx-int8 [model ...]

(default: every served classifier; the generators and the GAN load the same on either backend).

One backend per process (memory freed by torch is not returned to the system, so two in one process
would measure nothing). What ``queuebot benchmark`` reports as the worker's RSS, without the stack;
the knowledge index is left out because it needs the database.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from core.jobs import INTENT_MODEL, SENTIMENT_MODELS, TOPIC_MODEL
from core.settings import get_settings
from workers.registry import ModelRegistry


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main(backend: str, names: list[str]) -> None:
    logging.basicConfig(level=logging.WARNING)
    settings = get_settings().model_copy(update={"inference_backend": backend, "device": "cpu"})
    registry = ModelRegistry(settings)
    for name in names:
        registry.served(name)
    encoder = registry.knowledge_encoder()
    encoder.encode(["warm up"])
    served = {name: getattr(s.model, "backend", "torch") for name, s in registry.loaded().items()}
    sys.stdout.write(
        f"backend setting {backend}: {resident_mb():.0f} MB resident (pid {os.getpid()}); "
        f"served {served}, sentence encoder {encoder.backend}\n"
    )


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "auto",
        sys.argv[2:] or [*SENTIMENT_MODELS, INTENT_MODEL, TOPIC_MODEL],
    )
