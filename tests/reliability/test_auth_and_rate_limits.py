"""Auth and secrets over real HTTP: every route but the public few needs a token, callers past their
rate limit get 429 until the window ends, wrong tokens from one address are slowed down, and no
token or signing secret reaches a log record."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import redis
import uvicorn
from fastapi.routing import iter_route_contexts
from sqlalchemy import update

from bots.web import rate_limit
from bots.web.web_session import CLIENT_HEADER, COOKIE_NAME
from cli.redis_server import free_port
from core import redis_keys
from core.jobs import JobStatus
from core.settings import get_settings
from db.base import utcnow
from db.engine import session_scope
from db.models import Job
from tests.reliability.overrides import settings_env
from tests.reliability.report import REPORT, AnswerTally, ScenarioResult
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import SlackSender, mention
from tests.support.stack_fixtures import ApiServer
from tests.support.waiting import wait_until_serving

# Routes anyone may call: probes, the page and its sign-in, the API's description, and Slack's
# endpoint (which checks Slack's signature instead of a token).
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/"),
    ("POST", "/auth/session"),
    ("DELETE", "/auth/session"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("POST", "/slack/events"),
}
WINDOW_S = 2
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def module_tally() -> Iterator[AnswerTally]:
    tally = AnswerTally(ScenarioResult("auth and rate limits"))
    yield tally
    tally.row.detail = f"answers {dict(sorted(tally.statuses.items()))}; an error is any but the expected one"
    REPORT.results.append(tally.row)


@pytest.fixture
def tally(module_tally: AnswerTally) -> Iterator[AnswerTally]:
    """The row's time is its tests' own, without the session's servers starting."""
    started = time.monotonic()
    yield module_tally
    module_tally.row.seconds += time.monotonic() - started


def test_every_route_but_the_public_ones_refuses_an_anonymous_request(
    api_server: ApiServer, anonymous_api: httpx.Client, tally: AnswerTally
) -> None:
    checked = []
    # The effective routes, with the prefixes the app included their routers under.
    for route in iter_route_contexts(api_server.server.config.app.routes):
        if route.methods is None:
            continue  # the /static mount: the page's files, which hold no data
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            if (method, route.path) in PUBLIC:
                continue
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            response = anonymous_api.request(method, path, json={} if method != "GET" else None)
            tally.answer(response, 401)
            assert response.status_code == 401, f"{method} {route.path}: {response.status_code}"
            assert response.headers["WWW-Authenticate"] == "Bearer"
            checked.append((method, route.path))
    assert sum(path.startswith("/api/") for _, path in checked) >= 20, checked
    assert any(method == "POST" for method, _ in checked) and ("GET", "/auth/session") in checked


@pytest.fixture
def limits(redis_server: object) -> Iterator[None]:
    """No counts left from another test, and the limiter not paused by one that took Redis away."""

    def forget() -> None:
        client = redis.Redis.from_url(get_settings().redis_url)
        keys = list(client.scan_iter(f"{redis_keys.RATE_LIMIT}*"))
        if keys:
            client.delete(*keys)
        client.close()
        rate_limit._paused_until = 0.0

    forget()
    yield
    forget()


def start_of_a_window() -> None:
    """Waits for a fresh fixed window, so that a test's requests all fall in one."""
    time.sleep(WINDOW_S - time.time() % WINDOW_S + 0.01)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_too_many(response: httpx.Response, words: str) -> int:
    assert response.status_code == 429, response.text
    assert words in response.json()["detail"]
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= WINDOW_S
    return retry_after


@pytest.mark.usefixtures("limits")
def test_a_caller_past_its_rate_limit_gets_429_until_the_window_ends(
    anonymous_api: httpx.Client, tally: AnswerTally
) -> None:
    token = f"rate-{uuid.uuid4().hex}"
    with settings_env(api_token=token, api_rate_limit=5, api_rate_limit_window_s=WINDOW_S):
        start_of_a_window()
        for _ in range(5):
            response = anonymous_api.get("/api/jobs", params={"limit": 1}, headers=bearer(token))
            assert tally.answer(response, 200).status_code == 200
        refused = tally.answer(
            anonymous_api.get("/api/jobs", params={"limit": 1}, headers=bearer(token)), 429
        )
        retry_after = assert_too_many(refused, "rate limit: 5 requests per 2 s")
        response = anonymous_api.post("/api/generate", json={"prompt": "hi"}, headers=bearer(token))
        assert tally.answer(response, 429).status_code == 429

        # Probes are never limited, and a sign-in on the web page has a bucket of its own.
        assert tally.answer(anonymous_api.get("/healthz"), 200).status_code == 200
        assert (
            tally.answer(anonymous_api.post("/auth/session", json={"token": token}), 204).status_code == 204
        )
        assert tally.answer(anonymous_api.get("/api/jobs", params={"limit": 1}), 200).status_code == 200
        anonymous_api.cookies.clear()

        time.sleep(retry_after)
        response = anonymous_api.get("/api/jobs", params={"limit": 1}, headers=bearer(token))
        assert tally.answer(response, 200).status_code == 200


@pytest.mark.usefixtures("limits")
def test_wrong_tokens_from_one_address_lock_it_out_until_the_window_ends(
    anonymous_api: httpx.Client, tally: AnswerTally
) -> None:
    token = f"guess-{uuid.uuid4().hex}"
    with settings_env(api_token=token, auth_failure_limit=3, api_rate_limit_window_s=WINDOW_S):
        start_of_a_window()
        assert tally.answer(anonymous_api.get("/api/jobs", headers=bearer("wrong-1")), 401).status_code == 401
        response = anonymous_api.post("/auth/session", json={"token": "wrong-2"})
        assert tally.answer(response, 401).status_code == 401
        # No token at all is not a guess.
        assert tally.answer(anonymous_api.get("/api/jobs"), 401).status_code == 401
        assert tally.answer(anonymous_api.get("/api/jobs", headers=bearer("wrong-3")), 401).status_code == 401

        response = anonymous_api.get("/api/jobs", headers=bearer("wrong-4"))
        assert_too_many(tally.answer(response, 429), "too many wrong tokens")
        # Now the right token gets the same answer: guessing learns nothing until the window ends.
        response = anonymous_api.get("/api/jobs", headers=bearer(token))
        retry_after = assert_too_many(tally.answer(response, 429), "wrong tokens")
        response = anonymous_api.post("/auth/session", json={"token": token})
        assert_too_many(tally.answer(response, 429), "wrong tokens")

        time.sleep(retry_after)
        response = anonymous_api.get("/api/jobs", params={"limit": 1}, headers=bearer(token))
        assert tally.answer(response, 200).status_code == 200
        assert (
            tally.answer(anonymous_api.post("/auth/session", json={"token": token}), 204).status_code == 204
        )
        anonymous_api.cookies.clear()


@pytest.mark.usefixtures("limits")
def test_the_limits_let_requests_through_while_redis_is_unreachable(
    anonymous_api: httpx.Client, tally: AnswerTally
) -> None:
    token = f"open-{uuid.uuid4().hex}"
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    with settings_env(api_token=token, api_rate_limit=1, auth_failure_limit=1, redis_url=unreachable):
        for _ in range(3):
            response = anonymous_api.get("/api/jobs", params={"limit": 1}, headers=bearer(token))
            assert tally.answer(response, 200).status_code == 200
        for _ in range(3):
            assert (
                tally.answer(anonymous_api.get("/api/jobs", headers=bearer("wrong")), 401).status_code == 401
            )


@pytest.fixture
def verbose_uvicorn(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """uvicorn's own loggers (access log included) at DEBUG into caplog; their levels go back after."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name in names:
        logging.getLogger(name).removeHandler(caplog.handler)
        logging.getLogger(name).setLevel(levels[name])


def test_tokens_and_secrets_never_reach_the_logs(
    redis_server: object,
    database: str,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    verbose_uvicorn: None,
    tally: AnswerTally,
) -> None:
    """A sign-in, a failed one, API calls with the right and a nearly right token, and Slack events
    signed right and wrong, all logged at DEBUG by a server of the test's own, which has Slack
    secrets of its own."""
    suffix = uuid.uuid4().hex
    token = f"api-token-{suffix}"
    near_miss = token[:-1] + ("0" if token[-1] != "0" else "1")
    signing_secret = f"signing-secret-{suffix}"
    bot_token = f"xoxb-bot-token-{suffix}"
    secrets = (token, near_miss, signing_secret, bot_token, f"xapp-{suffix}")
    channel = f"C{suffix[:10].upper()}"
    started_at = utcnow() - timedelta(seconds=1)

    caplog.set_level(logging.DEBUG)
    with settings_env(
        api_token=token,
        slack_bot_token=bot_token,
        slack_signing_secret=signing_secret,
        api_rate_limit=1_000,
        auth_failure_limit=100,
    ):
        from bots.web.app import create_app

        config = uvicorn.Config(create_app(), host="127.0.0.1", port=free_port(), log_level="debug")
        for name in ("uvicorn.error", "uvicorn.access"):
            logging.getLogger(name).addHandler(caplog.handler)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="uvicorn-secrets", daemon=True)
        thread.start()
        try:
            wait_until_serving(f"http://127.0.0.1:{config.port}", thread, "uvicorn serving the app")
            with httpx.Client(base_url=f"http://127.0.0.1:{config.port}", timeout=10) as client:
                response = client.post("/api/chat", json={"message": "hello"}, headers=bearer(token))
                assert tally.answer(response, 202).status_code == 202
                response = client.get("/api/jobs", params={"limit": 5}, headers=bearer(token))
                assert tally.answer(response, 200).status_code == 200
                assert (
                    tally.answer(client.get("/api/jobs", headers=bearer(near_miss)), 401).status_code == 401
                )
                response = client.post("/auth/session", json={"token": near_miss})
                assert tally.answer(response, 401).status_code == 401
                response = client.post("/auth/session", json={"token": token})
                assert tally.answer(response, 204).status_code == 204
                assert COOKIE_NAME in client.cookies
                page_chat = client.post(
                    "/api/chat", json={"message": "hi again"}, headers={CLIENT_HEADER: "web"}
                )
                assert tally.answer(page_chat, 202).status_code == 202

                forged = SlackSender(client, "not-the-secret").event(mention(channel, "UALICE", "hi"))
                assert tally.answer(forged, 401).status_code == 401
                slack = SlackSender(client, signing_secret)
                response = slack.event(mention(channel, "UALICE", "Where is my order?"))
                assert tally.answer(response, 200).status_code == 200
                # The listener runs after the ack: wait until it has stored its job and posted.
                fake_slack.wait_for("chat.postMessage", channel=channel)
        finally:
            server.should_exit = True
            thread.join(10)
            with session_scope() as session:
                session.execute(
                    update(Job)
                    .where(Job.created_at >= started_at, Job.status == JobStatus.QUEUED)
                    .values(status=JobStatus.FAILED, error="left queued by a test", finished_at=utcnow())
                )

    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    lines = [formatter.format(record) + repr(record.args) for record in caplog.records]
    assert any("bots.gateway" in line and "queued reply" in line for line in lines), "nothing was logged"
    assert any("uvicorn.access" in line for line in lines)
    for line in lines:
        for secret in secrets:
            assert secret not in line


def test_no_sql_is_built_from_strings() -> None:
    """SQL goes through the ORM or bound parameters: no statement text built with an f-string."""
    built = re.compile(r"""\b(?:text|execute|exec_driver_sql)\(\s*f["']""")
    offenders = [
        line.strip()
        for folder in ("bots", "core", "db", "workers", "cli")
        for source in (REPO / folder).rglob("*.py")
        for line in source.read_text().splitlines()
        if built.search(line)
    ]
    # The one exception sets SQLite's busy timeout from a module constant, not from any input.
    assert offenders == ['cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")']
