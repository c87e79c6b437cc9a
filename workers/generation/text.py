"""Text generation with the usual sampling controls."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.job_results import GenerateResult
from core.jobs import GENERATOR_MODEL, GeneratePayload
from workers.job_runner import JobOutcome
from workers.ml.generator import GenerationRequest
from workers.registry import get_registry
from workers.text_stream import start_text_stream


def generate_text(job_id: str, job_input: dict[str, Any]) -> JobOutcome:
    payload = GeneratePayload.model_validate(job_input)
    served = get_registry().served(GENERATOR_MODEL)
    # The decoding request holds the job's payload field for field.
    request = GenerationRequest(**payload.model_dump())
    # Checked here, alone: inside a batch, one request the model cannot serve would fail all of them.
    request.validate(served.model.context_size)
    # Its text goes to the job's followers as it is decoded.
    stream = start_text_stream(job_id)
    request = replace(request, listener=stream)
    # Through the generator's micro-batcher: requests that arrive together are decoded together.
    [texts] = served.batcher.submit([request])
    if stream is not None:
        stream.flush()  # every piece sent before the result is stored, so followers see them before "done"
    # A prompt longer than the context keeps its end; the caller is told how much of its start was unseen.
    dropped = served.model.prompt_tokens_dropped(request)
    return JobOutcome(
        result=GenerateResult(texts=texts, prompt_tokens_dropped=dropped),
        model_name=served.name,
        model_version=served.version,
    )
