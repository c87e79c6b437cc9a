"""The command line's API client sends a refused request again after Retry-After, within a budget, and
says what the API answered when it refuses for good."""

from __future__ import annotations

import time
import uuid

import pytest

from cli.api_client import ApiClient, ApiError
from tests.reliability.overrides import settings_env
from tests.support.stack_fixtures import ApiServer


def test_requests_past_the_rate_limit_wait_as_told_and_then_succeed(api_server: ApiServer) -> None:
    token = f"client-{uuid.uuid4().hex}"
    limits = settings_env(api_token=token, api_rate_limit=2, api_rate_limit_window_s=1)
    with limits, ApiClient.connect(api_server.base_url, token) as api:
        started = time.monotonic()
        counts = [api.count_jobs("generate", "done") for _ in range(5)]
        elapsed = time.monotonic() - started

    assert len(counts) == 5 and all(count >= 0 for count in counts)
    assert elapsed >= 1.0  # five requests at two per one-second window: at least one window waited out


def test_a_client_gives_up_once_its_waits_would_pass_its_budget(api_server: ApiServer) -> None:
    token = f"client-{uuid.uuid4().hex}"
    limits = settings_env(api_token=token, api_rate_limit=1, api_rate_limit_window_s=60)
    with limits, ApiClient.connect(api_server.base_url, token) as api:
        api.retry_for_s = 0.5
        api.count_jobs("generate", "done")
        started = time.monotonic()
        with pytest.raises(ApiError, match=r"GET /api/jobs: 429 .*rate limit.*after waiting 0 s"):
            api.count_jobs("generate", "done")

    assert time.monotonic() - started < 5  # it did not sit out the minute's Retry-After


def test_a_request_refused_for_good_is_an_error_with_the_apis_reason(api_server: ApiServer) -> None:
    token = f"client-{uuid.uuid4().hex}"
    refused = pytest.raises(ApiError, match=r"POST /api/sentiment: 422 .*items")
    with settings_env(api_token=token), ApiClient.connect(api_server.base_url, token) as api, refused:
        api.submit("/api/sentiment", {"items": []})
