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


@pytest.mark.usefixtures("celery_worker")
def test_following_a_jobs_events_returns_it_once_the_worker_has_stored_it(api_server: ApiServer) -> None:
    token = f"client-{uuid.uuid4().hex}"
    with settings_env(api_token=token), ApiClient.connect(api_server.base_url, token) as api:
        accepted = api.submit("/api/sentiment", {"items": [{"text": "the flight was great", "topic": "t"}]})
        job = api.follow_job(accepted["id"], timeout_s=120)

    assert job["id"] == accepted["id"] and job["status"] == "done"
    assert job["result"]["count"] == 1  # the stored result, not a status without it


def test_following_a_job_that_does_not_exist_is_an_error_naming_it(api_server: ApiServer) -> None:
    token = f"client-{uuid.uuid4().hex}"
    missing = f"no-such-{uuid.uuid4().hex}"
    refused = pytest.raises(ApiError, match=rf"GET /api/jobs/{missing}/events: 404 .*does not exist")
    with settings_env(api_token=token), ApiClient.connect(api_server.base_url, token) as api, refused:
        api.follow_job(missing, timeout_s=10)
