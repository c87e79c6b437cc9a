"""Bad input over real HTTP: too big, unknown, mistyped, undecodable, control characters, and texts
far longer than a model's context. Each is refused with a 4xx that says why, or handled; never a 500."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from core.jobs import MAX_MESSAGE_CHARS, MAX_PROMPT_CHARS, MAX_SENTIMENT_TEXT_CHARS
from core.settings import get_settings
from tests.reliability.report import REPORT, AnswerTally, ScenarioResult
from tests.support.stack_fixtures import wait_for_job

# Words of one short token each: MAX_*_CHARS of them are far more tokens than any model here reads
# (classifiers and embeddings 128, the quick generator 256 positions).
LONG_WORDS = "no "


@pytest.fixture(scope="module")
def module_tally() -> Iterator[AnswerTally]:
    tally = AnswerTally(ScenarioResult("bad input by hand"), follow_jobs=True)
    yield tally
    tally.row.detail = (
        f"answers {dict(sorted(tally.statuses.items()))}; {tally.done} accepted jobs done; "
        "an error is an answer other than the expected one, or a failed job"
    )
    REPORT.results.append(tally.row)


@pytest.fixture
def tally(module_tally: AnswerTally) -> Iterator[AnswerTally]:
    """The row's time is its tests' own: session fixtures (the worker, which builds its models
    when the first test here that needs it starts) are set up before this one."""
    started = time.monotonic()
    yield module_tally
    module_tally.row.seconds += time.monotonic() - started


def _oversized_body() -> bytes:
    limit = get_settings().max_request_bytes
    return b'{"message": "' + b"x" * limit + b'"}'


def test_a_body_over_the_size_limit_is_refused_with_413(api: httpx.Client, tally: AnswerTally) -> None:
    response = api.post("/api/chat", content=_oversized_body(), headers={"Content-Type": "application/json"})
    tally.answer(response, 413)

    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]


def test_a_chunked_body_over_the_size_limit_is_refused_with_413(
    api: httpx.Client, tally: AnswerTally
) -> None:
    body = _oversized_body()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    # A generator makes httpx send Transfer-Encoding: chunked, with no Content-Length to check.
    response = api.post("/api/chat", content=chunks(), headers={"Content-Type": "application/json"})
    tally.answer(response, 413)

    assert "content-length" not in response.request.headers
    assert response.status_code == 413


def test_an_unknown_field_is_refused_with_422_naming_it(api: httpx.Client, tally: AnswerTally) -> None:
    response = api.post("/api/chat", json={"message": "hello", "colour": "red"})
    tally.answer(response, 422)

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "colour"]
    assert error["msg"] == "Extra inputs are not permitted"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/generate", {"prompt": "Once", "max_new_tokens": "many"}, ["body", "max_new_tokens"]),
        ("/api/sentiment", {"items": "great service"}, ["body", "items"]),
        ("/api/chat", {"message": ["hello"]}, ["body", "message"]),
        ("/api/chat", {"message": "hello", "conversation_id": 2**64}, ["body", "conversation_id"]),
    ],
)
def test_a_wrong_type_is_refused_with_422_naming_the_field(
    api: httpx.Client, tally: AnswerTally, path: str, body: dict[str, object], field: list[str]
) -> None:
    response = api.post(path, json=body)
    tally.answer(response, 422)

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [field]


@pytest.mark.parametrize(
    "path", ["/api/kb/18446744073709551616", "/api/alerts/-18446744073709551616", "/api/jobs?offset=1e30"]
)
def test_a_number_too_large_for_the_database_is_refused_with_422(
    api: httpx.Client, tally: AnswerTally, path: str
) -> None:
    # These reached SQLite before and came back as 500 (OverflowError), found by test_api_fuzz.
    response = api.get(path)
    tally.answer(response, 422)

    assert response.status_code == 422


def test_a_body_that_is_not_utf8_is_refused_with_a_4xx_that_says_so(
    api: httpx.Client, tally: AnswerTally
) -> None:
    response = api.post(
        "/api/chat",
        content='{"message": "café"}'.encode("latin-1"),
        headers={"Content-Type": "application/json"},
    )
    tally.answer(response, 400)

    # FastAPI's own answer: it does not name the encoding, but it is a 400 that blames the body.
    assert response.status_code == 400
    assert response.json()["detail"] == "There was an error parsing the body"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/chat", {"message": "refund\x00please"}),
        ("/api/sentiment", {"items": [{"text": "bad\x00service"}]}),
        ("/api/sentiment", {"items": [{"text": "fine", "topic": "bill\x00ing"}]}),
        ("/api/generate", {"prompt": "Once\x00upon"}),
    ],
)
def test_a_nul_character_is_refused_with_422_before_the_database(
    api: httpx.Client, tally: AnswerTally, path: str, body: dict[str, object]
) -> None:
    _assert_refused_for_its_nul(api.post(path, json=body), tally)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/alerts", {"topic": "a\x00b"}),
        ("/api/reports", {"topic": "a\x00b"}),
        ("/api/kb", {"intent": "a\x00b"}),
        ("/api/trends", {"topic": "a\x00b"}),
    ],
)
def test_a_nul_character_in_a_query_filter_is_refused_with_422(
    api: httpx.Client, tally: AnswerTally, path: str, params: dict[str, str]
) -> None:
    # Postgres cannot compare text with a NUL in it: the query would fail with a server error.
    _assert_refused_for_its_nul(api.get(path, params=params), tally)


def _assert_refused_for_its_nul(response: httpx.Response, tally: AnswerTally) -> None:
    tally.answer(response, 422)
    assert response.status_code == 422
    assert "NUL" in response.json()["detail"][0]["msg"]


@pytest.mark.usefixtures("celery_worker")
def test_other_control_characters_are_stored_and_processed(api: httpx.Client, tally: AnswerTally) -> None:
    text = "refund\x01 \x07bell \x1b[31mred\x1b[0m \u200b\ufeff\x7f please"

    chat = tally.answer(api.post("/api/chat", json={"message": text}), 202)
    sentiment = tally.answer(
        api.post("/api/sentiment", json={"items": [{"text": text, "topic": "control-chars"}]}), 202
    )

    assert chat.status_code == sentiment.status_code == 202
    assert tally.finished(wait_for_job(api, chat.json()["job"]["id"]))["status"] == "done"
    assert tally.finished(wait_for_job(api, sentiment.json()["id"]))["status"] == "done"
    conversation = api.get(f"/api/conversations/{chat.json()['conversation_id']}").json()
    assert conversation["messages"][0]["text"] == text


@pytest.mark.usefixtures("celery_worker")
def test_texts_far_longer_than_the_model_context_are_truncated_not_crashed(
    api: httpx.Client, tally: AnswerTally
) -> None:
    # Deliberate truncation: classifiers keep the first 128 tokens (workers/ml/classifier.py,
    # MAX_LENGTH, tokenizer(..., truncation=True)), embeddings likewise (workers/ml/embedding.py), and
    # the generator keeps a prompt's last tokens that fit beside the new ones
    # (workers/ml/generator.py, Generator._prompt_ids; reply prompts in Generator.reply_request).
    message = (LONG_WORDS * MAX_MESSAGE_CHARS)[: MAX_MESSAGE_CHARS - 1] + "?"
    chat = api.post("/api/chat", json={"message": message})
    sentiment = api.post(
        "/api/sentiment",
        json={
            "items": [
                {
                    "text": (LONG_WORDS * MAX_SENTIMENT_TEXT_CHARS)[:MAX_SENTIMENT_TEXT_CHARS],
                    "topic": "long-texts",
                },
                {"text": "x" * MAX_SENTIMENT_TEXT_CHARS, "topic": "long-texts"},
            ]
        },
    )
    generate = api.post(
        "/api/generate",
        json={"prompt": (LONG_WORDS * MAX_PROMPT_CHARS)[:MAX_PROMPT_CHARS], "max_new_tokens": 8, "seed": 1},
    )

    for response in (chat, sentiment, generate):
        tally.answer(response, 202)

    assert chat.status_code == sentiment.status_code == generate.status_code == 202
    for job_id in (chat.json()["job"]["id"], sentiment.json()["id"], generate.json()["id"]):
        job = tally.finished(wait_for_job(api, job_id))
        assert job["status"] == "done", job["error"]
