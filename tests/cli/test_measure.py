"""`queuebot measure` is a well-behaved client: a product with its rate limit on answers part of its
requests (the jobs and their event streams) with 429, and the measurement waits as told instead of
failing."""

from __future__ import annotations

import uuid

import pytest

from cli.measure import measure
from core.settings import get_settings
from tests.reliability.overrides import settings_env
from tests.support.stack_fixtures import ApiServer


@pytest.mark.usefixtures("celery_worker")
def test_measure_waits_out_429s_and_still_times_every_job(api_server: ApiServer) -> None:
    token = f"measure-{uuid.uuid4().hex}"
    # Five jobs, each a POST and an event stream: ten requests, more than four in 2 s.
    with settings_env(api_token=token, api_rate_limit=4, api_rate_limit_window_s=2):
        rows = measure(api_server.base_url, token, get_settings().data_dir, chats=2, batch_size=2, batches=1)

    assert [(row["jobs"], row["failed"]) for row in rows] == [(2, 0), (1, 0)]
