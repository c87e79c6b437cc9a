"""POST /v1/chat/completions: the customer-service pipeline, as a reply job (POST /api/chat's).

The last message, which must be the user's, is the customer's question. The earlier messages are not
used: the pipeline's memory is the stored conversation (its turns feed generation, and the customer's
own messages are the only identifiers a reply may repeat), and replaying a client's copy of the
history would store messages nobody sent here. Each request starts a new conversation unless it names
one with ``conversation_id`` (queuebot's own field; openai's ``extra_body``), whose id every answer
carries in ``queuebot``. System and developer messages are ignored: the answer is an approved one, a
reply written from approved ones, or a hand-off to a person, whatever a prompt says.

With ``stream`` the role chunk goes out at once and the stored answer only once the job is done: the
guard may refuse a generated draft and hand the customer over instead, and an OpenAI client cannot
take back text it was sent, so no draft is ever streamed.
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
from bots.web.openai_api.errors import OpenAIRoute, invalid, job_failed, unsupported
from bots.web.openai_api.jobs import deadline, done_job, submit_chat
from bots.web.openai_api.models import CUSTOMER_SERVICE_ID, require_model
from bots.web.openai_api.schemas import (
    CHAT_EXAMPLES,
    JOB_RESPONSES,
    AssistantMessage,
    ChatChoice,
    ChatCompletion,
    ChatCompletionRequest,
    ChatMessage,
    QueuebotReply,
    streamed,
)
from bots.web.openai_api.streaming import DONE, KEEP_ALIVE, fingerprint, frame, head, sse_response
from bots.web.routers._params import IdempotencyKey
from bots.web.schemas import ChatRequest, JobOut
from core.job_results import ReplyResult
from core.jobs import JobStatus

router = APIRouter(tags=["OpenAI-compatible"], route_class=OpenAIRoute)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        **JOB_RESPONSES,
        **streamed("A chat.completion, or with `stream: true` its chunks as server-sent events."),
    },
)
async def create_chat_completion(
    body: Annotated[ChatCompletionRequest, Body(openapi_examples=CHAT_EXAMPLES)],
    caller: CallerDep,
    idempotency_key: IdempotencyKey = None,
) -> ChatCompletion | StreamingResponse:
    """Answer the last user message (a reply job, stored as POST /api/chat stores one): the answer or
    the hand-off message, with the reply's path and sources in ``queuebot``. Waits for the job, up
    to QUEUEBOT_OPENAI_WAIT_S."""
    require_model(body.model, CUSTOMER_SERVICE_ID)
    _refuse_unsupported(body)
    question = _question(body.messages)
    until = deadline()
    job = await run_in_threadpool(submit_chat, question, caller.source, body.conversation_id, idempotency_key)
    if body.stream:
        return sse_response(job.id, _events(job, until))
    return _chat_completion(await done_job(job.id, until))


def _refuse_unsupported(body: ChatCompletionRequest) -> None:
    """Parameters that ask for something the pipeline does not do. Sampling controls (temperature,
    top_p, seed, penalties, max_tokens) are ignored instead: the answer is not sampled to order."""
    refused = {
        "n": (body.n or 1) > 1,
        "stop": bool(body.stop),
        "tools": bool(body.tools),
        "functions": bool(body.functions),
        "tool_choice": body.tool_choice not in (None, "none", "auto"),
        "function_call": body.function_call not in (None, "none", "auto"),
        "response_format": body.response_format is not None and body.response_format.get("type") != "text",
        "logprobs": body.logprobs is True,
        "top_logprobs": bool(body.top_logprobs),
        "modalities": any(modality != "text" for modality in body.modalities or []),
        "audio": body.audio is not None,
    }
    for param, is_set in refused.items():
        if is_set:
            raise unsupported(param)


def _question(messages: list[ChatMessage]) -> str:
    index = len(messages) - 1
    last = messages[index]
    param = f"messages.{index}.content"
    if last.role != "user":
        raise invalid(
            "the last message must be the user's: it is the question answered", param=f"messages.{index}"
        )
    if isinstance(last.content, list):
        if any(part.type != "text" for part in last.content):
            raise unsupported(param, ": only text content parts")
        text = "\n".join(part.text or "" for part in last.content)
    else:
        text = last.content or ""
    try:
        # /api/chat's limits on a message: the same text is stored and answered.
        return ChatRequest(message=text).message
    except ValidationError as exc:
        raise invalid(
            f"{param}: {exc.errors()[0]['msg']}", param=param, code=exc.errors()[0]["type"]
        ) from exc


def _chat_completion(job: JobOut) -> ChatCompletion:
    result = ReplyResult.model_validate(job.result)
    return ChatCompletion(
        **head(job, "chatcmpl", CUSTOMER_SERVICE_ID, "chat.completion"),
        system_fingerprint=fingerprint(job),
        choices=[ChatChoice(index=0, message=AssistantMessage(content=result.reply))],
        queuebot=QueuebotReply(
            job_id=job.id,
            conversation_id=job.input["conversation_id"],
            path=result.path,
            reason=result.reason,
            intent=result.intent,
            sources=result.sources,
        ),
    )


def _chunk(top: dict[str, Any], delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        **top,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


async def _events(job: JobOut, until: float) -> AsyncGenerator[str, None]:
    """The role chunk now; the stored answer, the finish chunk (with ``queuebot``) and ``[DONE]`` once
    the job is done."""
    top = head(job, "chatcmpl", CUSTOMER_SERVICE_ID, "chat.completion.chunk")
    yield frame(_chunk(top, {"role": "assistant", "content": ""}))
    async with aclosing(follow(job.id, until)) as updates:
        async for update in updates:
            if update is None:
                yield KEEP_ALIVE
            elif isinstance(update, JobOut) and update.status.is_final:
                if update.status is JobStatus.FAILED:
                    yield job_failed(update).frame()
                else:
                    answer = _chat_completion(update)
                    yield frame(_chunk(top, {"content": answer.choices[0].message.content}))
                    last = {
                        "system_fingerprint": answer.system_fingerprint,
                        "queuebot": answer.queuebot.model_dump(mode="json"),
                    }
                    yield frame(_chunk(top, {}, "stop") | last)
                yield DONE
