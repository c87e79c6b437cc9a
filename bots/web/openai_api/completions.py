"""POST /v1/completions: a prompt continued by the generator, as a generate job.

The OpenAI parameters map onto the job's payload (max_tokens -> max_new_tokens, n ->
num_return_sequences; temperature, top_p and seed as they are), so the job stored is the one
POST /api/generate would store, under the same limits; ``stop`` cuts the response (choice_text.py).
Without ``stream`` the response waits for the job; with it, the text goes out as the worker decodes
it (its pieces, read from the job's text stream), and the stored text, the text of record, finishes
it. ``usage`` is left out: the worker does not record token counts, and the web process has no
tokenizer (the generator's byte-level BPE is its own, in the models folder the web does not read),
so any count would be a guess.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from bots.web.deps import CallerDep
from bots.web.job_follower import follow
from bots.web.openai_api.choice_text import ChoiceText, cut_at_stop
from bots.web.openai_api.errors import OpenAIError, OpenAIRoute, invalid, job_failed, unsupported
from bots.web.openai_api.jobs import deadline, done_job, submit
from bots.web.openai_api.models import GENERATOR_ID, require_model
from bots.web.openai_api.schemas import (
    COMPLETION_EXAMPLES,
    JOB_RESPONSES,
    MAX_STOPS,
    Completion,
    CompletionChoice,
    CompletionRequest,
    QueuebotCompletion,
    streamed,
)
from bots.web.openai_api.streaming import DONE, KEEP_ALIVE, fingerprint, frame, head, sse_response
from bots.web.routers._params import IdempotencyKey
from bots.web.schemas import JobOut
from core.job_results import GenerateResult
from core.jobs import GeneratePayload, JobKind, JobStatus

router = APIRouter(tags=["OpenAI-compatible"], route_class=OpenAIRoute)

# The payload's fields by the OpenAI parameter that sets each; a refusal names the parameter.
PAYLOAD_FIELDS = {
    "prompt": "prompt",
    "max_tokens": "max_new_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "n": "num_return_sequences",
    "seed": "seed",
}
PARAMS = {field: param for param, field in PAYLOAD_FIELDS.items()}


@router.post(
    "/completions",
    response_model=Completion,
    responses={
        **JOB_RESPONSES,
        **streamed("A text_completion, or with `stream: true` its chunks as server-sent events."),
    },
)
async def create_completion(
    body: Annotated[CompletionRequest, Body(openapi_examples=COMPLETION_EXAMPLES)],
    caller: CallerDep,
    idempotency_key: IdempotencyKey = None,
) -> Completion | StreamingResponse:
    """Continue a prompt (a generate job, stored as POST /api/generate stores one; its id is in
    ``queuebot.job_id``). Waits for the job, up to QUEUEBOT_OPENAI_WAIT_S."""
    require_model(body.model, GENERATOR_ID)
    _refuse_unsupported(body)
    payload = _payload(body)
    stops = _stops(body.stop)
    until = deadline()
    job = await run_in_threadpool(submit, JobKind.GENERATE, payload, caller.source, idempotency_key)
    if body.stream:
        return sse_response(job.id, _events(job, stops, until))
    return _completion(await done_job(job.id, until), stops)


def _refuse_unsupported(body: CompletionRequest) -> None:
    refused = {
        "echo": body.echo is True,
        "suffix": bool(body.suffix),
        "logprobs": body.logprobs is not None,
        "best_of": body.best_of is not None and body.best_of > (body.n or 1),
        "presence_penalty": bool(body.presence_penalty),
        "frequency_penalty": bool(body.frequency_penalty),
        "logit_bias": bool(body.logit_bias),
    }
    for param, is_set in refused.items():
        if is_set:
            raise unsupported(param)


def _prompt(prompt: str | list[Any]) -> str:
    if isinstance(prompt, str):
        return prompt
    if len(prompt) == 1 and isinstance(prompt[0], str):
        return prompt[0]
    if all(isinstance(item, str) for item in prompt):
        raise unsupported("prompt", ": one prompt per request, a string or a list holding one")
    raise unsupported("prompt", ": token ids (the generator's tokens are its own); send text")


def _payload(body: CompletionRequest) -> GeneratePayload:
    values = {
        "prompt": _prompt(body.prompt),
        "max_tokens": body.max_tokens,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "n": body.n,
        "seed": body.seed,
    }
    try:
        # Left out when not sent: the payload's defaults are POST /api/generate's.
        return GeneratePayload(
            **{PAYLOAD_FIELDS[param]: value for param, value in values.items() if value is not None}
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        param = PARAMS.get(str(error["loc"][0]) if error["loc"] else "")
        raise invalid(f"{param or 'body'}: {error['msg']}", param=param, code=error["type"]) from exc


def _stops(stop: str | list[str] | None) -> tuple[str, ...]:
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    if len(stops) > MAX_STOPS:
        raise invalid(f"stop: at most {MAX_STOPS} strings", param="stop")
    if not all(stops):
        raise invalid("stop: a stop string must not be empty", param="stop")
    return tuple(stops)


def _finish_reason(stopped: bool) -> str | None:
    return "stop" if stopped else None


def _completion(job: JobOut, stops: tuple[str, ...]) -> Completion:
    result = GenerateResult.model_validate(job.result)
    choices = []
    for index, text in enumerate(result.texts):
        cut, stopped = cut_at_stop(text, stops)
        choices.append(CompletionChoice(index=index, text=cut, finish_reason=_finish_reason(stopped)))
    return Completion(
        **head(job, "cmpl", GENERATOR_ID, "text_completion"),
        system_fingerprint=fingerprint(job),
        choices=choices,
        queuebot=_extra(job, result),
    )


def _extra(job: JobOut, result: GenerateResult) -> QueuebotCompletion:
    return QueuebotCompletion(job_id=job.id, prompt_tokens_dropped=result.prompt_tokens_dropped)


def _chunk(top: dict[str, Any], index: int, text: str, finish_reason: str | None = None) -> dict[str, Any]:
    return {
        **top,
        "choices": [{"index": index, "text": text, "logprobs": None, "finish_reason": finish_reason}],
    }


async def _events(job: JobOut, stops: tuple[str, ...], until: float) -> AsyncGenerator[str, None]:
    """A chunk for each piece as it is decoded, then what the pieces did not cover of the stored text,
    a finish chunk per choice and ``[DONE]``."""
    top = head(job, "cmpl", GENERATOR_ID, "text_completion")
    choices: dict[int, ChoiceText] = {}
    async with aclosing(follow(job.id, until, text=True)) as updates:
        async for update in updates:
            if update is None:
                yield KEEP_ALIVE
            elif isinstance(update, list):
                for piece in update:
                    if piece.reset:
                        for choice in choices.values():
                            choice.restart()
                    elif new := choices.setdefault(piece.choice, ChoiceText(stops)).add(piece.text):
                        yield frame(_chunk(top, piece.choice, new))
            elif update.status.is_final:
                for event in _ending(top, update, choices, stops):
                    yield event


def _ending(
    top: dict[str, Any], job: JobOut, choices: dict[int, ChoiceText], stops: tuple[str, ...]
) -> list[str]:
    if job.status is JobStatus.FAILED:
        return [job_failed(job).frame(), DONE]
    result = GenerateResult.model_validate(job.result)
    finished = [choices.get(index, ChoiceText(stops)) for index in range(len(result.texts))]
    rests = [choice.finish(text) for choice, text in zip(finished, result.texts, strict=True)]
    if any(rest is None for rest in rests):
        return [_superseded(job.id).frame(), DONE]
    events = [frame(_chunk(top, index, rest)) for index, rest in enumerate(rests) if rest]
    last = {"system_fingerprint": fingerprint(job), "queuebot": _extra(job, result).model_dump(mode="json")}
    for index, choice in enumerate(finished):
        events.append(frame(_chunk(top, index, "", _finish_reason(choice.stopped)) | last))
    return [*events, DONE]


def _superseded(job_id: str) -> OpenAIError:
    return OpenAIError(
        500,
        f"the text streamed for job {job_id} is not the start of the text it stored (the job was run "
        f"again after a failure); the text of record is at /api/jobs/{job_id}",
        code="text_superseded",
    )
