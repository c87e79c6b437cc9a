"""The REST API's contract over real HTTP: auth, validation, size limits, idempotency, paging."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from cli.redis_server import free_port
from core.jobs import MAX_NEW_TOKENS, MAX_ROW_ID
from db.engine import session_scope
from db.models import Alert, AlertStatus, Feedback, Job, Rating
from tests.support.slack_fake import FakeSlack
from tests.support.waiting import wait_until_serving


def test_health_needs_no_token(anonymous_api: httpx.Client) -> None:
    assert anonymous_api.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/api/jobs", "/api/alerts", "/api/jobs/some-id"])
def test_api_refuses_requests_without_a_token(anonymous_api: httpx.Client, path: str) -> None:
    response = anonymous_api.get(path)

    assert response.status_code == 401
    assert "bearer token" in response.json()["detail"]


def test_api_refuses_a_wrong_token_and_stores_nothing(anonymous_api: httpx.Client) -> None:
    with session_scope() as session:
        before = session.scalar(select(func.count()).select_from(Job))

    response = anonymous_api.post(
        "/api/generate", json={"prompt": "hi"}, headers={"Authorization": "Bearer not-the-token"}
    )

    assert response.status_code == 401
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/generate", {"prompt": "hi", "max_new_tokens": MAX_NEW_TOKENS + 1}, "max_new_tokens"),
        ("/api/generate", {"prompt": "hi", "temperature": -0.1}, "temperature"),
        ("/api/generate", {"prompt": "   "}, "prompt"),
        ("/api/generate", {"prompt": "x" * 2_001}, "prompt"),
        ("/api/generate", {"prompt": "hi", "colour": "blue"}, "colour"),
        ("/api/generate", {"prompt": "hi", "no_repeat_ngram_size": -1}, "no_repeat_ngram_size"),
        ("/api/generate", {"prompt": "hi", "no_repeat_ngram_size": 2.5}, "no_repeat_ngram_size"),
        ("/api/generate", {"prompt": "hi", "repetition_penalty": 0.5}, "repetition_penalty"),
        ("/api/generate", {"prompt": "hi", "repetition_penalty": "lots"}, "repetition_penalty"),
        ("/api/chat", {"message": ""}, "message"),
        ("/api/chat", {"message": 42}, "message"),
        ("/api/sentiment", {"items": []}, "items"),
        ("/api/sentiment", {"items": [{"text": "ok", "occurred_at": "yesterday"}]}, "occurred_at"),
    ],
)
def test_invalid_input_gets_422_naming_the_field(
    api: httpx.Client, path: str, body: dict, field: str
) -> None:
    response = api.post(path, json=body)

    assert response.status_code == 422
    assert any(field in error["loc"] for error in response.json()["detail"]), response.json()


def test_body_larger_than_the_limit_gets_413(api: httpx.Client) -> None:
    response = api.post("/api/chat", content=b'{"message": "' + b"a" * 1_100_000 + b'"}')

    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


def test_chunked_body_larger_than_the_limit_gets_413(api: httpx.Client) -> None:
    def chunks():
        for _ in range(20):
            yield b"a" * 100_000

    response = api.post("/api/chat", content=chunks(), headers={"Content-Type": "application/json"})

    assert response.status_code == 413


def test_chat_in_an_unknown_conversation_gets_404(api: httpx.Client) -> None:
    response = api.post("/api/chat", json={"message": "hello", "conversation_id": 999_999})

    assert response.status_code == 404
    assert "999999" in response.json()["detail"]


@pytest.mark.parametrize(
    "path", ["/api/conversations/{id}", "/api/alerts/{id}", "/api/reports/{id}", "/api/kb/{id}"]
)
def test_the_largest_row_id_is_404_and_one_past_it_is_422(api: httpx.Client, path: str) -> None:
    # Row ids are 32-bit on PostgreSQL: one past the bound must be refused, not sent to the database.
    assert api.get(path.format(id=MAX_ROW_ID)).status_code == 404
    assert api.get(path.format(id=MAX_ROW_ID + 1)).status_code == 422


def test_unknown_job_gets_404(api: httpx.Client) -> None:
    assert api.get("/api/jobs/no-such-job").status_code == 404


def test_feedback_on_a_job_is_one_vote_per_user_and_a_new_vote_replaces_it(api: httpx.Client) -> None:
    job_id = api.post("/api/generate", json={"prompt": "Rate me"}).json()["id"]

    first = api.post(f"/api/jobs/{job_id}/feedback", json={"rating": "up", "user": "dana"})
    second = api.post(f"/api/jobs/{job_id}/feedback", json={"rating": "down", "user": "dana"})

    assert first.status_code == second.status_code == 200
    assert second.json() | {"updated_at": None} == {
        "job_id": job_id,
        "rating": "down",
        "source": "api",
        "user_id": "dana",
        "updated_at": None,
    }
    with session_scope() as session:
        votes = session.scalars(select(Feedback).where(Feedback.job_id == job_id)).all()
        assert [(vote.user_id, vote.rating) for vote in votes] == [("dana", Rating.DOWN)]


def test_feedback_on_an_unknown_job_gets_404_and_a_bad_rating_422(api: httpx.Client) -> None:
    assert api.post("/api/jobs/nope/feedback", json={"rating": "up"}).status_code == 404
    job_id = api.post("/api/generate", json={"prompt": "Rate me"}).json()["id"]
    response = api.post(f"/api/jobs/{job_id}/feedback", json={"rating": "meh"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "rating"]


def test_same_idempotency_key_returns_the_first_job_instead_of_a_second(api: httpx.Client) -> None:
    headers = {"Idempotency-Key": "generate-once-1"}
    first = api.post("/api/generate", json={"prompt": "Once"}, headers=headers)
    second = api.post("/api/generate", json={"prompt": "Once"}, headers=headers)

    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    with session_scope() as session:
        count = session.scalar(
            select(func.count()).select_from(Job).where(Job.idempotency_key == "generate-once-1")
        )
    assert count == 1


def test_idempotency_key_reused_for_another_kind_gets_409(api: httpx.Client) -> None:
    headers = {"Idempotency-Key": "shared-key-1"}
    assert api.post("/api/generate", json={"prompt": "a"}, headers=headers).status_code == 202

    response = api.post("/api/chat", json={"message": "a"}, headers=headers)

    assert response.status_code == 409
    assert "generate" in response.json()["detail"]


def test_job_list_filters_by_kind_and_pages_newest_first(api: httpx.Client) -> None:
    ids = [api.post("/api/generate", json={"prompt": f"paging {i}"}).json()["id"] for i in range(3)]

    page = api.get("/api/jobs", params={"kind": "generate", "limit": 2}).json()
    next_page = api.get("/api/jobs", params={"kind": "generate", "limit": 2, "offset": 2}).json()

    assert page["limit"] == 2 and page["total"] >= 3
    assert all(job["kind"] == "generate" for job in page["items"] + next_page["items"])
    assert [job["id"] for job in page["items"]] == ids[::-1][:2]
    assert next_page["items"][0]["id"] == ids[0]
    assert api.get("/api/jobs", params={"kind": "nonsense"}).status_code == 422


def test_alerts_are_listed_newest_first_and_filtered_by_status(api: httpx.Client) -> None:
    now = datetime.now(UTC)
    with session_scope() as session:
        for minutes, status in ((10, AlertStatus.RESOLVED), (5, AlertStatus.OPEN)):
            session.add(
                Alert(
                    topic="alerts-api-test",
                    window_start=now - timedelta(minutes=minutes + 5),
                    window_end=now - timedelta(minutes=minutes),
                    metric="negative_share",
                    baseline=0.1,
                    value=0.6,
                    evidence=[{"text": "terrible service", "score": -0.9}],
                    status=status,
                    created_at=now - timedelta(minutes=minutes),
                )
            )

    listed = api.get("/api/alerts", params={"topic": "alerts-api-test"}).json()
    open_only = api.get("/api/alerts", params={"topic": "alerts-api-test", "status": "open"}).json()

    assert [alert["status"] for alert in listed["items"]] == ["open", "resolved"]
    assert listed["items"][0]["evidence"] == [{"text": "terrible service", "score": -0.9}]
    assert open_only["total"] == 1


def test_openapi_schema_states_the_input_limits(anonymous_api: httpx.Client) -> None:
    schema = anonymous_api.get("/openapi.json").json()
    generate = schema["components"]["schemas"]["GeneratePayload"]["properties"]

    assert generate["max_new_tokens"]["maximum"] == MAX_NEW_TOKENS
    assert generate["prompt"]["maxLength"] == 2_000


def test_web_process_never_imports_torch(fake_slack: FakeSlack) -> None:
    # The Slack bot is on in the test settings, so this covers the bolt app too; building it calls
    # auth.test on the fake Slack.
    code = (
        "import sys\n"
        "from bots.web.app import create_app\n"
        "create_app()\n"
        "loaded = [m for m in ('torch', 'transformers', 'onnxruntime') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr


def test_request_while_the_queue_is_down_gets_503_with_retry_after_and_stores_nothing(
    database: str, tmp_path: Path
) -> None:
    port = free_port()
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    env = {**os.environ, "QUEUEBOT_REDIS_URL": dead_redis}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bots.web.app:create_app", "--factory", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "web.log").open("wb"),
    )
    base_url = f"http://127.0.0.1:{port}"

    try:
        wait_until_serving(
            base_url, server, "the web app without a queue", log=(tmp_path / "web.log").read_text
        )

        with session_scope() as session:
            jobs_before = session.scalar(select(func.count()).select_from(Job))
        prompt = f"queue down {time.time()}"
        started = time.monotonic()
        response = httpx.post(
            f"{base_url}/api/generate",
            json={"prompt": prompt},
            headers={"Authorization": "Bearer test-token"},
            timeout=30,
        )
        answered_in_s = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(10)

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "unavailable" in response.json()["detail"]
    assert answered_in_s < 5, "a dead broker must be reported at once, not after retries"
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == jobs_before
