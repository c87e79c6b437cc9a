"""Schemathesis over the app's own OpenAPI schema: generated requests, valid and invalid, sent over
real HTTP to the real app; no answer may be a server error, and answers the schema documents must
match it.

The app under fuzz is a server of its own (a uvicorn process on a private SQLite file and Redis
database 1), not the session's ``api_server``: valid generated requests create jobs, knowledge-base
entries, votes and alert moves, and on the shared server the session's worker (already running when
this file's turn comes) would run every generated chat, generation and sentiment job, raising
alerts, posting to the fake Slack and adding topics other tests count. Here nothing consumes the
jobs, and the whole database is fuzzable, deletes and replacements of the knowledge base included,
with nothing excluded for the sake of other tests.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from cli.redis_server import RedisServer, free_port
from core.settings import get_settings
from db.migrate import upgrade_to_head
from tests.reliability.report import ReliabilityReport
from tests.support.database_choice import private_database_url
from tests.support.postgres_server import PostgresServer
from tests.support.slack_fake import FakeSlack
from tests.support.waiting import wait_until_serving

log = logging.getLogger(__name__)

# Per operation and generation mode (valid, then invalid data): about 1,500 requests over the 35
# operations, as the four without inputs (GET /healthz, /readyz, /metrics, DELETE /auth/session)
# have one request to make. The total is asserted, so a smaller schema or a different schemathesis
# cannot quietly shrink the run. Generated ids are never a stored job's id, so GET
# /api/jobs/{id}/events answers 404 here and never opens an endless stream.
EXAMPLES_PER_MODE = 25
MIN_CASES = 1_000
REQUEST_TIMEOUT_S = 10
FUZZ_REDIS_DB = 1
# The OpenAI-compatible routes wait for their job, which no worker runs here: a valid request's wait
# runs out (504 naming the job, or a stream that ends with that error) after this long.
OPENAI_WAIT_S = 0.5
WAITING_OPERATIONS = {"POST /v1/completions", "POST /v1/chat/completions"}


def not_a_server_error_but_the_wait(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """``not_a_server_error``, except the documented 504 of a /v1 request whose job nobody runs."""
    if case.operation.label in WAITING_OPERATIONS and response.status_code == 504:
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [not_a_server_error_but_the_wait, response_schema_conformance, content_type_conformance]


@dataclass
class FuzzServer:
    base_url: str
    log_file: Path


@dataclass
class FuzzReport:
    sent: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    by_operation: Counter[str] = field(default_factory=Counter)
    # Requests that got no answer at all (a timeout, a dropped connection).
    unanswered: int = 0
    # The documented 504s of /v1 requests whose job no worker runs here: answers, not errors.
    waits_run_out: int = 0


@pytest.fixture(scope="module")
def fuzz_server(
    redis_server: RedisServer,
    fake_slack: FakeSlack,
    database_server: PostgresServer | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FuzzServer]:
    state_dir = tmp_path_factory.mktemp("fuzz")
    # A database of its own, on the suite's backend: a thousand generated requests stay out of it.
    database_url = private_database_url(state_dir, "fuzz")
    upgrade_to_head(database_url)
    redis_url = get_settings().redis_url.rsplit("/", 1)[0] + f"/{FUZZ_REDIS_DB}"
    port = free_port()
    env = os.environ | {
        "QUEUEBOT_DATABASE_URL": database_url,
        "QUEUEBOT_REDIS_URL": redis_url,
        "QUEUEBOT_VAR_DIR": str(state_dir),
        # The limits would answer most of a thousand requests in seconds with 429 (and the queue
        # bounds with 503) before their inputs are looked at; the limits have tests of their own.
        "QUEUEBOT_API_RATE_LIMIT": "0",
        "QUEUEBOT_AUTH_FAILURE_LIMIT": "0",
        "QUEUEBOT_MAX_QUEUED_REPLY": "0",
        "QUEUEBOT_MAX_QUEUED_SENTIMENT": "0",
        "QUEUEBOT_MAX_QUEUED_GENERATE": "0",
        "QUEUEBOT_OPENAI_WAIT_S": str(OPENAI_WAIT_S),
    }
    log_file = state_dir / "uvicorn.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bots.web.app:create_app", "--factory"]
            + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"

    try:
        wait_until_serving(base_url, process, "the fuzz server", log=log_file.read_text)
        yield FuzzServer(base_url, log_file)
    finally:
        process.terminate()
        process.wait(10)
        redis.Redis.from_url(redis_url).flushdb()


def test_generated_requests_never_get_a_server_error(
    fuzz_server: FuzzServer, reliability_report: ReliabilityReport
) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server.base_url}/openapi.json")
    token = get_settings().api_token.get_secret_value()
    auth = {"Authorization": f"Bearer {token}"}
    report = FuzzReport()
    with reliability_report.scenario("generated bad input (schemathesis)") as row:
        started = time.monotonic()
        with requests.Session() as http:
            for result in schema.get_all_operations():
                operation = result.ok()
                for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
                    _fuzz(operation, mode, fuzz_server.base_url, http, auth, report)
        elapsed = time.monotonic() - started

        total = sum(report.sent.values())
        server_errors = (
            sum(count for status, count in report.statuses.items() if status >= 500) - report.waits_run_out
        )
        row.jobs = total + report.unanswered
        row.errors = server_errors + report.unanswered
        row.detail = (
            f"{total} cases answered over {len(report.sent)} operations, {report.unanswered} unanswered; "
            f"statuses {dict(sorted(report.statuses.items()))} ({report.waits_run_out} of them /v1 waits "
            "that ran out, no worker running); "
            f"{len(report.failures)} failed checks (server error, schema or content type)"
        )
    log.info("fuzz: %d cases over %d operations in %.1f s", total, len(report.sent), elapsed)
    log.info("fuzz: statuses %s", dict(sorted(report.statuses.items())))
    for label, count in sorted(report.by_operation.items()):
        log.info("fuzz:   %4d  %s", count, label)
    server_log = fuzz_server.log_file.read_text(errors="replace")[-6_000:]
    assert not report.failures, "\n\n".join(report.failures[:30]) + f"\n\nserver log:\n{server_log}"
    assert total >= MIN_CASES


def _fuzz(
    operation: schemathesis.APIOperation,
    mode: schemathesis.GenerationMode,
    base_url: str,
    http: requests.Session,
    auth: dict[str, str],
    report: FuzzReport,
) -> None:
    # Every failure is collected instead of raised, so one run lists them all; hence no shrinking.
    @settings(
        max_examples=EXAMPLES_PER_MODE,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        label = f"{operation.label} [{mode.value}]"
        try:
            response = case.call(base_url=base_url, session=http, headers=auth, timeout=REQUEST_TIMEOUT_S)
        except requests.RequestException as exc:
            report.unanswered += 1
            report.failures.append(f"{label}: {exc!r}\n{case.as_curl_command(headers=auth)}")
            return
        report.sent[operation.label] += 1
        report.statuses[response.status_code] += 1
        if operation.label in WAITING_OPERATIONS and response.status_code == 504:
            report.waits_run_out += 1
        report.by_operation[f"{label} {response.status_code}"] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=auth)
        except FailureGroup as exc:  # its message holds the curl command that reproduces it
            report.failures.append(f"{label}: {exc}")

    try:
        run()
    except Unsatisfiable:
        # An operation without parameters or body (GET /healthz) has no invalid request to make.
        if mode is not schemathesis.GenerationMode.NEGATIVE:
            raise
