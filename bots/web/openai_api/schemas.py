"""Request and response bodies of the OpenAI-compatible API, in OpenAI's names and shapes.

Requests ignore fields they do not name (as vLLM does): OpenAI adds parameters often, and a client
library that sends a new harmless one must keep working. Parameters that would change the answer and
are not supported are named here and refused by the routes with 400 (``unsupported`` in
completions.py and chat.py; docs/openai-api.md lists them). The limits are the job payloads' own
(core/jobs.py), so /api and /v1 refuse the same numbers.

Responses carry one field OpenAI does not: ``queuebot``, the job behind the answer (its id, for
GET /api/jobs/{id}) and, for chat, the reply's path and sources.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.job_results import ReplyPath, ReplySource
from core.jobs import MAX_NEW_TOKENS, MAX_RETURN_SEQUENCES, MAX_ROW_ID

MAX_STOPS = 4  # OpenAI's limit too


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CompletionRequest(_Request):
    model: str = Field(examples=["generator"], description="`generator` (GET /v1/models).")
    prompt: str | list[str] | list[int] | list[list[int]] = Field(
        examples=["The government said"],
        description="One prompt: a string, or a list holding one string. Token ids are refused.",
    )
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_NEW_TOKENS, description="Default 64.")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0, description="0: greedy. Default 0.8.")
    top_p: float | None = Field(default=None, gt=0.0, le=1.0, description="Default 0.95.")
    n: int | None = Field(default=None, ge=1, le=MAX_RETURN_SEQUENCES)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    stop: str | list[str] | None = Field(
        default=None, description=f"Up to {MAX_STOPS} strings; the text ends before the first one found."
    )
    stream: bool | None = False
    # Refused unless left at what OpenAI does by default: each would change the answer.
    echo: bool | None = None
    suffix: str | None = None
    logprobs: int | None = None
    best_of: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, Any] | None = None


class ContentPart(_Request):
    type: str
    text: str | None = None


class ChatMessage(_Request):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class ChatCompletionRequest(_Request):
    model: str = Field(examples=["customer-service"], description="`customer-service` (GET /v1/models).")
    messages: list[ChatMessage] = Field(min_length=1, description="The last one is the customer's question.")
    stream: bool | None = False
    conversation_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ROW_ID,
        description="queuebot's own: continue this stored conversation (its id is in each answer's "
        "`queuebot` field); without it, each request starts a new one.",
    )
    # Refused unless left at what OpenAI does by default: each would change the answer.
    n: int | None = None
    stop: str | list[str] | None = None
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    tool_choice: Any = None
    function_call: Any = None
    response_format: dict[str, Any] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    modalities: list[str] | None = None
    audio: dict[str, Any] | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(description="When its current version began serving (Unix time); 0: unknown.")
    owned_by: str = "queuebot"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class CompletionChoice(BaseModel):
    index: int
    text: str
    logprobs: None = None
    finish_reason: Literal["stop", "length"] | None = Field(
        description="`stop` when a stop string ended the text; null otherwise: the job does not record "
        "whether the model ended its text or ran out of max_tokens."
    )


class QueuebotCompletion(BaseModel):
    job_id: str
    prompt_tokens_dropped: int | None = Field(
        default=None, description="Tokens cut from the start of a prompt longer than the model's context."
    )


class _Answer(BaseModel):
    """The envelope a completion and a chat completion share; each names its own ``object``, which
    keeps its place between ``id`` and ``created``."""

    id: str
    object: str
    created: int
    model: str
    system_fingerprint: str | None = Field(description="The model's name and served version.")


class Completion(_Answer):
    object: Literal["text_completion"] = "text_completion"
    choices: list[CompletionChoice]
    queuebot: QueuebotCompletion


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int
    message: AssistantMessage
    logprobs: None = None
    finish_reason: Literal["stop"] = "stop"


class QueuebotReply(BaseModel):
    job_id: str
    conversation_id: int
    path: ReplyPath | None = Field(description="template, generation or handoff (docs/replies.md).")
    reason: str | None = None
    intent: str | None = None
    sources: list[ReplySource] = Field(default_factory=list)


class ChatCompletion(_Answer):
    object: Literal["chat.completion"] = "chat.completion"
    choices: list[ChatChoice]
    queuebot: QueuebotReply


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorResponse(BaseModel):
    error: ErrorDetail


_ERROR = {"model": ErrorResponse}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _ERROR | {"description": "Invalid or unsupported parameters."},
    401: _ERROR | {"description": "A missing or wrong API token."},
    429: _ERROR | {"description": "Past the caller's rate limit; see Retry-After."},
    503: _ERROR | {"description": "The queue is full or unavailable, or the database is; see Retry-After."},
}
JOB_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: _ERROR | {"description": "No such model, or no such conversation."},
    409: _ERROR | {"description": "The Idempotency-Key was used for another kind of job."},
    500: _ERROR | {"description": "The job failed; the message says why and names it."},
    504: _ERROR
    | {"description": "The job was not final within QUEUEBOT_OPENAI_WAIT_S; the message names it."},
}


# One server-sent event of a stream (OpenAPI before 3.2 describes an event stream by its events).
SSE_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "string",
            "description": "A chunk's JSON, an error object's JSON (the stream then ends), or `[DONE]`.",
        },
        "event": {"type": "string"},
    },
}


def streamed(description: str) -> dict[int | str, dict[str, Any]]:
    """The 200 of a route that answers JSON, or server-sent events with ``stream: true``."""
    return {200: {"content": {"text/event-stream": {"schema": SSE_EVENT}}, "description": description}}


def examples(plain: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A request's examples for the OpenAPI schema (/docs shows them; the API fuzzing sends them)."""
    return {
        "plain": {"summary": "The answer in the response", "value": plain},
        "streamed": {"summary": "The answer as server-sent events", "value": plain | {"stream": True}},
    }


COMPLETION_EXAMPLES = examples({"model": "generator", "prompt": "The government said", "max_tokens": 40})
CHAT_EXAMPLES = examples(
    {"model": "customer-service", "messages": [{"role": "user", "content": "I want to cancel my order"}]}
)
