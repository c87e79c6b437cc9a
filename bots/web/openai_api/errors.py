"""OpenAI's error object for every refusal on /v1, with the status codes the REST API uses.

OpenAI clients read ``{"error": {"message", "type", "param", "code"}}`` and raise by status code
(openai.AuthenticationError for 401, BadRequestError for 400, ...); /api keeps FastAPI's
``{"detail"}``. The routes' own refusals raise :class:`OpenAIError`; what happens before a route's code
runs (the token, the rate limit, body validation) or inside the gateway (a full queue, an unavailable
database) is turned into the same shape by :class:`OpenAIRoute`, the route class of every /v1 router,
so /api's exception handlers never see a /v1 request and each prefix keeps its own shape.

Invalid input is 400, not the REST API's 422: OpenAI answers 400 for it and its clients raise
BadRequestError, which is what code written against OpenAI, vLLM or TGI catches.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException  # FastAPI's and Starlette's own (a body not UTF-8)

from bots.gateway import IdempotencyConflict
from bots.not_found import NotFound
from bots.web.job_follower import JobGone, WaitExpired
from bots.web.schemas import JobOut
from bots.web.unavailable import DATABASE_UNAVAILABLE, RETRY_AFTER_S, RETRY_LATER, retry_later_message
from core.settings import get_settings

log = logging.getLogger(__name__)

# OpenAI's `type` for each status; `code` says more where the reason is known.
_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    429: "requests",
}
_CODES = {401: "invalid_api_key", 404: "not_found", 409: "idempotency_conflict", 429: "rate_limit_exceeded"}
# The openai client retries 408, 409, 429 and 5xx on its own unless told not to. A retry of a request
# whose job exists (it failed, or the wait ran out) would start a second job; the caller should fetch
# the first from /api/jobs/{id} instead, whose id the message gives.
NO_RETRY = {"x-should-retry": "false"}


class OpenAIError(Exception):
    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        error_type: str | None = None,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        fallback = "server_error" if status_code >= 500 else "invalid_request_error"
        self.type = error_type or _TYPES.get(status_code, fallback)
        self.param = param
        self.code = code or _CODES.get(status_code)
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status_code, headers=self.headers)

    def frame(self) -> str:
        """The error as a server-sent event's data: openai's Stream raises APIError on it."""
        return f"data: {json.dumps(self.body())}\n\n"


def invalid(message: str, param: str | None = None, code: str | None = None) -> OpenAIError:
    return OpenAIError(status.HTTP_400_BAD_REQUEST, message, param=param, code=code)


def from_exception(exc: Exception) -> OpenAIError | None:
    """The OpenAI error for an exception raised while a /v1 request is handled; None: not one of ours."""
    if isinstance(exc, OpenAIError):
        return exc
    if isinstance(exc, HTTPException):
        return OpenAIError(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))
    if isinstance(exc, RequestValidationError):
        return _invalid_body(exc)
    if isinstance(exc, IdempotencyConflict):
        return OpenAIError(status.HTTP_409_CONFLICT, str(exc), headers=NO_RETRY)
    if isinstance(exc, NotFound):
        return OpenAIError(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, RETRY_LATER):
        return OpenAIError(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            retry_later_message(exc),
            code="service_unavailable",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    return None


def _invalid_body(exc: RequestValidationError) -> OpenAIError:
    errors = list(exc.errors())
    first = errors[0] if errors else {}
    # ("body", "messages", 0, "content") -> "messages.0.content"; the body as a whole -> None.
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    param = ".".join(location) or None
    described = "; ".join(
        f"{'.'.join(str(p) for p in error.get('loc', ()) if p != 'body') or 'body'}: {error.get('msg')}"
        for error in errors[:5]
    )
    return invalid(described or "invalid request", param=param, code=first.get("type"))


class OpenAIRoute(APIRoute):
    """A route whose refusals, wherever they are raised, are OpenAI error objects."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handle = super().get_route_handler()

        async def handle_in_openai_shape(request: Request) -> Response:
            try:
                return await handle(request)
            except Exception as exc:
                error = from_exception(exc)
                if error is None:
                    raise
                return error.response()

        return handle_in_openai_shape


def job_failed(job: JobOut) -> OpenAIError:
    return OpenAIError(
        status.HTTP_500_INTERNAL_SERVER_ERROR,
        f"job {job.id} failed: {job.error}",
        code="job_failed",
        headers=NO_RETRY,
    )


def while_waiting(job_id: str, exc: Exception) -> OpenAIError | None:
    """The error for what ended the wait for an accepted job; None: not one of ours. The job exists,
    so each message names it and tells the client not to send the request again."""
    if isinstance(exc, WaitExpired):
        wait_s = get_settings().openai_wait_s
        return OpenAIError(
            status.HTTP_504_GATEWAY_TIMEOUT,
            f"job {job_id} is still {exc.job.status.value} after {wait_s:g} s (QUEUEBOT_OPENAI_WAIT_S); "
            f"its result will be at GET /api/jobs/{job_id}",
            code="job_timeout",
            headers=NO_RETRY,
        )
    if isinstance(exc, JobGone):
        return OpenAIError(status.HTTP_500_INTERNAL_SERVER_ERROR, str(exc), code="job_gone", headers=NO_RETRY)
    if isinstance(exc, DATABASE_UNAVAILABLE):
        log.warning("job %s: database unavailable while waiting for it: %s", job_id, exc)
        return OpenAIError(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the database is unavailable; job {job_id} was accepted: fetch it later from /api/jobs/{job_id}",
            code="service_unavailable",
            headers={"Retry-After": str(RETRY_AFTER_S), **NO_RETRY},
        )
    return None


def unsupported(param: str, why: str = "") -> OpenAIError:
    return invalid(
        f"`{param}` is not supported here{why} (docs/openai-api.md lists what is)",
        param=param,
        code="unsupported_parameter",
    )
