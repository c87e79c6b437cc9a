"""Text generation with the usual sampling controls."""

from __future__ import annotations

from typing import Any

from core.jobs import GENERATOR_MODEL, GeneratePayload
from workers.job_runner import JobOutcome
from workers.registry import get_registry


def generate_text(job_id: str, job_input: dict[str, Any]) -> JobOutcome:
    payload = GeneratePayload.model_validate(job_input)
    generator = get_registry().get(GENERATOR_MODEL)
    texts = generator.generate(
        payload.prompt,
        max_new_tokens=payload.max_new_tokens,
        temperature=payload.temperature,
        top_p=payload.top_p,
        num_return_sequences=payload.num_return_sequences,
        seed=payload.seed,
    )
    return JobOutcome(
        result={"texts": texts},
        model_name=generator.info.name,
        model_version=generator.info.version,
    )
