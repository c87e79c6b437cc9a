"""The OpenAI-compatible routes' contract over real HTTP, without a worker: they are in the OpenAPI
schema, and every refusal on /v1 is OpenAI's error object with the REST API's status codes (400 for
invalid input, where /api answers 422), the token's 401, the rate limiter's 429 and the unreachable
queue's 503 with Retry-After, storing nothing; /api keeps its own shape. (Answers, streams and the
openai package's exceptions: tests/e2e/test_openai_api.py.)"""

from __future__ import annotations

import time
import uuid

import httpx
from sqlalchemy import func, select

from bots.web import rate_limit
from cli.redis_server import free_port
from core.jobs import MAX_NEW_TOKENS
from core.settings import get_settings
from db.engine import session_scope
from db.models import Job
from tests.reliability.overrides import settings_env

CHAT = {"model": "customer-service", "messages": [{"role": "user", "content": "Where is my parcel?"}]}
COMPLETION = {"model": "generator", "prompt": "The market"}


def _jobs() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Job)) or 0


def _error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]


def test_the_openapi_schema_describes_the_v1_routes(anonymous_api: httpx.Client) -> None:
    schema = anonymous_api.get("/openapi.json").json()

    paths = schema["paths"]
    assert {"/v1/models", "/v1/models/{model_id}", "/v1/completions", "/v1/chat/completions"} <= set(paths)
    for path in ("/v1/completions", "/v1/chat/completions"):
        responses = paths[path]["post"]["responses"]
        assert set(responses["200"]["content"]) == {"application/json", "text/event-stream"}
        for status in ("400", "401", "429", "503", "504"):
            assert responses[status]["content"]["application/json"]["schema"]["$ref"].endswith(
                "/ErrorResponse"
            )
    schemas = schema["components"]["schemas"]
    assert schemas["CompletionRequest"]["properties"]["max_tokens"]["anyOf"][0]["maximum"] == MAX_NEW_TOKENS
    assert "queuebot" in schemas["ChatCompletion"]["properties"]


def test_v1_refusals_are_openai_error_objects_and_api_keeps_its_own(
    api: httpx.Client, anonymous_api: httpx.Client
) -> None:
    before = _jobs()

    anonymous = anonymous_api.post("/v1/completions", json=COMPLETION)
    assert _error(anonymous, 401)["code"] == "invalid_api_key"
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    wrong = anonymous_api.get("/v1/models", headers={"Authorization": "Bearer not-the-token"})
    assert _error(wrong, 401)["message"] == "invalid bearer token"

    not_json = api.post("/v1/completions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert _error(not_json, 400)["type"] == "invalid_request_error"
    assert (
        _error(api.post("/v1/chat/completions", json={"model": "customer-service"}), 400)["param"]
        == "messages"
    )
    assert (
        _error(api.post("/v1/completions", json=COMPLETION | {"max_tokens": 0}), 400)["param"] == "max_tokens"
    )
    assert _error(api.post("/v1/completions", json=COMPLETION | {"prompt": "   "}), 400)["param"] == "prompt"
    assert _error(api.post("/v1/completions", json=COMPLETION | {"prompt": [1, 2]}), 400)["param"] == "prompt"
    assert _error(api.post("/v1/completions", json=COMPLETION | {"stop": ""}), 400)["param"] == "stop"
    last_not_user = CHAT | {"messages": [{"role": "assistant", "content": "Hello"}]}
    assert _error(api.post("/v1/chat/completions", json=last_not_user), 400)["param"] == "messages.0"
    tools = CHAT | {"tools": [{"type": "function", "function": {"name": "f"}}]}
    assert _error(api.post("/v1/chat/completions", json=tools), 400)["code"] == "unsupported_parameter"
    unknown_conversation = CHAT | {"conversation_id": 2**31 - 1}
    assert _error(api.post("/v1/chat/completions", json=unknown_conversation), 404)["code"] == "not_found"
    assert (
        _error(api.post("/v1/chat/completions", json=CHAT | {"model": "generator"}), 404)["param"] == "model"
    )
    too_large = b"x" * (get_settings().max_request_bytes + 1)
    assert _error(api.post("/v1/completions", content=too_large), 413)["message"].startswith("request body")

    assert _jobs() == before
    assert anonymous_api.get("/api/jobs").json()["detail"].startswith("missing bearer token")
    assert api.post("/api/generate", json={}).status_code == 422


def test_v1_past_the_rate_limit_gets_429_with_retry_after(anonymous_api: httpx.Client) -> None:
    token = f"openai-rate-{uuid.uuid4().hex}"
    bearer = {"Authorization": f"Bearer {token}"}
    rate_limit._paused_until = 0.0  # not paused by a test that took Redis away
    with settings_env(api_token=token, api_rate_limit=1, api_rate_limit_window_s=2):
        time.sleep(2 - time.time() % 2 + 0.01)  # both requests in one window
        assert anonymous_api.get("/v1/models", headers=bearer).status_code == 200
        refused = anonymous_api.post("/v1/completions", json=COMPLETION, headers=bearer)

    assert _error(refused, 429)["code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 2


def test_v1_while_the_queue_is_unreachable_gets_503_with_retry_after_and_stores_nothing(
    api: httpx.Client,
) -> None:
    before = _jobs()
    with settings_env(redis_url=f"redis://127.0.0.1:{free_port()}/0"):
        refused = [api.post("/v1/completions", json=COMPLETION), api.post("/v1/chat/completions", json=CHAT)]

    for response in refused:
        assert _error(response, 503)["code"] == "service_unavailable"
        assert response.headers["Retry-After"] == "5"
    assert _jobs() == before
