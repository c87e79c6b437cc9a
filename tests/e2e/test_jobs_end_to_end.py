"""Each kind of job travels the whole path on real parts: HTTP -> app -> SQLite -> Redis -> Celery
worker -> model -> SQLite, and its stored result is read back through the API."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from core.job_results import RESULT_SCHEMAS
from core.jobs import JobKind
from db.engine import session_scope
from db.models import Job, Message, SentimentObservation
from tests.support.stack_fixtures import use_models_dir, wait_for_job
from workers.ml.gpt2_decoding import GenerationRequest
from workers.model_store import ModelStore
from workers.registry import get_registry
from workers.replies.guard import IDENTIFIER

pytestmark = pytest.mark.usefixtures("celery_worker")


def test_every_kind_stores_a_result_of_its_own_schema(api: httpx.Client) -> None:
    accepted = {
        JobKind.REPLY: api.post("/api/chat", json={"message": "How do I get a refund?"}).json()["job"],
        JobKind.SENTIMENT: api.post("/api/sentiment", json={"items": [{"text": "Great crew"}]}).json(),
        JobKind.GENERATE: api.post("/api/generate", json={"prompt": "The market", "seed": 3}).json(),
        JobKind.IMAGE: api.post("/api/images", json={"digit": 7, "n": 2, "seed": 3}).json(),
    }
    assert set(accepted) == set(JobKind)

    for kind, job in accepted.items():
        stored = wait_for_job(api, job["id"])
        assert (stored["kind"], stored["status"]) == (kind.value, "done"), stored["error"]
        # extra="forbid": a key the schema does not name fails here, as a missing one does.
        RESULT_SCHEMAS[kind].model_validate(stored["result"])


def test_second_message_continues_the_same_conversation(api: httpx.Client) -> None:
    first = api.post("/api/chat", json={"message": "How do I get a refund?"}).json()
    wait_for_job(api, first["job"]["id"])

    second = api.post(
        "/api/chat",
        json={"message": "And how long does it take?", "conversation_id": first["conversation_id"]},
    )

    assert second.status_code == 202
    assert second.json()["conversation_id"] == first["conversation_id"]
    assert wait_for_job(api, second.json()["job"]["id"])["status"] == "done"
    with session_scope() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.conversation_id == first["conversation_id"])
        )
    assert count == 4


def test_sentiment_batch_stores_one_scored_observation_per_item(
    api: httpx.Client, tiny_models_dir: Path
) -> None:
    items = [
        {"text": "Shares plunge after the company misses earnings badly", "topic": "acme", "source": "news"},
        {"text": "Record profits and a raised dividend delight investors", "topic": "acme", "source": "news"},
        {"text": "The board meets on Tuesday", "topic": "globex", "occurred_at": "2026-11-20T09:30:00Z"},
    ]
    accepted = api.post("/api/sentiment", json={"items": items})
    assert accepted.status_code == 202, accepted.text

    job = wait_for_job(api, accepted.json()["id"])

    assert job["status"] == "done", job["error"]
    assert job["model_name"] == "sentiment-general"
    assert job["model_version"] == ModelStore(tiny_models_dir).current_version("sentiment-general")
    assert job["result"]["count"] == 3
    assert sum(job["result"]["labels"].values()) == 3
    with session_scope() as session:
        rows = session.scalars(
            select(SentimentObservation)
            .where(SentimentObservation.job_id == job["id"])
            .order_by(SentimentObservation.item_index)
        ).all()
        assert [row.topic for row in rows] == ["acme", "acme", "globex"]
        assert rows[1].source == "news" and rows[2].source == "api"
        assert rows[2].occurred_at.isoformat() == "2026-11-20T09:30:00+00:00"
        for row in rows:
            assert row.p_negative + row.p_neutral + row.p_positive == pytest.approx(1.0, abs=1e-4)
            assert row.score == pytest.approx(row.p_positive - row.p_negative)
            assert row.label in ("negative", "neutral", "positive")
            assert row.model_version == job["model_version"]


def test_a_sentiment_job_can_ask_for_the_finance_model_and_records_it(api: httpx.Client) -> None:
    accepted = api.post(
        "/api/sentiment",
        json={"model": "sentiment-finance", "items": [{"text": "Operating profit rose 12 %"}]},
    )
    job = wait_for_job(api, accepted.json()["id"])
    assert job["status"] == "done", job["error"]
    assert job["model_name"] == "sentiment-finance"
    with session_scope() as session:
        row = session.scalars(
            select(SentimentObservation).where(SentimentObservation.job_id == job["id"])
        ).one()
        assert (row.model_name, row.model_version) == ("sentiment-finance", job["model_version"])


def test_an_unknown_sentiment_model_is_refused_before_a_job_exists(api: httpx.Client) -> None:
    response = api.post("/api/sentiment", json={"model": "sentiment-klingon", "items": [{"text": "hi"}]})
    assert response.status_code == 422
    assert "sentiment-finance" in response.text


def test_concurrent_sentiment_jobs_share_forward_passes_in_the_worker(api: httpx.Client) -> None:
    batcher = get_registry().served("sentiment-general").batcher
    before = (batcher.stats.batches, batcher.stats.requests)
    texts = [f"Flight {i} was delayed again and nobody told us why" for i in range(12)]
    with ThreadPoolExecutor(len(texts)) as pool:
        responses = list(
            pool.map(lambda text: api.post("/api/sentiment", json={"items": [{"text": text}]}), texts)
        )
    ids = [response.json()["id"] for response in responses]
    jobs = [wait_for_job(api, job_id) for job_id in ids]
    assert all(job["status"] == "done" for job in jobs)
    batches, requests = batcher.stats.batches - before[0], batcher.stats.requests - before[1]
    assert requests == 12
    # The worker runs several task threads; jobs that arrive together meet in one forward pass.
    assert batches < requests


def test_generate_job_returns_the_requested_number_of_continuations(api: httpx.Client) -> None:
    accepted = api.post(
        "/api/generate",
        json={"prompt": "The market opened", "max_new_tokens": 8, "num_return_sequences": 2, "seed": 7},
    )
    assert accepted.status_code == 202, accepted.text

    job = wait_for_job(api, accepted.json()["id"])

    assert job["status"] == "done", job["error"]
    assert job["model_name"] == "generator"
    texts = job["result"]["texts"]
    assert len(texts) == 2
    assert all(isinstance(text, str) for text in texts)
    assert job["input"]["max_new_tokens"] == 8


def test_a_prompt_of_emoji_and_rare_characters_encodes_through_byte_tokens_and_generates(
    api: httpx.Client,
) -> None:
    prompt = "🦜🧿 ꙮ ᚠᛇᚻ 𝔊𝔓𝔗 \u200b\ttabs  and  𐍈"
    accepted = api.post("/api/generate", json={"prompt": prompt, "max_new_tokens": 6, "seed": 3})

    job = wait_for_job(api, accepted.json()["id"])

    assert job["status"] == "done", job["error"]
    assert job["input"]["prompt"] == prompt.strip()
    assert len(job["result"]["texts"]) == 1 and job["result"]["prompt_tokens_dropped"] == 0


def test_a_prompt_longer_than_the_context_keeps_its_end_and_the_result_says_how_much_was_cut(
    api: httpx.Client,
) -> None:
    context = get_registry().served("generator").model.context_size
    prompt = " ".join(f"word{i}" for i in range(context))  # several tokens a word: past any context
    assert len(prompt) <= 2_000

    job = wait_for_job(
        api, api.post("/api/generate", json={"prompt": prompt, "max_new_tokens": 8}).json()["id"]
    )

    assert job["status"] == "done", job["error"]
    tokens = len(get_registry().served("generator").model.tokenizer(prompt)["input_ids"])
    assert job["result"]["prompt_tokens_dropped"] == tokens - (context - 8) > 0


def test_job_whose_model_cannot_load_ends_failed_with_the_error(
    api: httpx.Client, tiny_models_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "models"
    shutil.copytree(tiny_models_dir, broken)
    for weights in ModelStore(broken).folder("generator").glob("*.safetensors"):
        weights.write_bytes(b"these bytes are not a safetensors file")
    use_models_dir(broken)
    try:
        accepted = api.post("/api/generate", json={"prompt": "Hello", "max_new_tokens": 4})
        job = wait_for_job(api, accepted.json()["id"])
    finally:
        use_models_dir(tiny_models_dir)

    assert job["status"] == "failed"
    assert job["error"]
    assert job["result"] is None
    assert job["finished_at"] is not None


def test_redelivered_message_for_a_finished_job_changes_nothing(api: httpx.Client) -> None:
    from workers.celery_app import celery_app

    item = {"items": [{"text": "Delivery was late again", "topic": "redelivery"}]}
    first = wait_for_job(api, api.post("/api/sentiment", json=item).json()["id"])
    assert first["status"] == "done"

    # What Redis does after a crash or a visibility timeout: the same message, same task id.
    celery_app.send_task("queuebot.sentiment", args=[first["id"]], task_id=first["id"], queue="batch")
    # The solo worker takes batch messages in order, so once this one is done the repeat was handled.
    marker = wait_for_job(api, api.post("/api/sentiment", json=item).json()["id"])
    assert marker["status"] == "done"

    again = api.get(f"/api/jobs/{first['id']}").json()
    assert again == first
    with session_scope() as session:
        stored = session.scalar(
            select(func.count())
            .select_from(SentimentObservation)
            .where(SentimentObservation.job_id == first["id"])
        )
        assert stored == 1
        assert session.get_one(Job, first["id"]).attempts == 1


@pytest.mark.parametrize(
    ("first", "second", "allowed"),
    [
        ("I want to cancel my order", "please cancel purchase 00004587345 now", ["00004587345"]),
        ("I want to cancel my order", "how do I cancel it?", []),
    ],
)
def test_a_reply_never_shows_an_order_number_the_customer_did_not_give(
    api: httpx.Client, first: str, second: str, allowed: list[str]
) -> None:
    conversation = api.post("/api/chat", json={"message": first}).json()
    wait_for_job(api, conversation["job"]["id"])

    accepted = api.post(
        "/api/chat", json={"message": second, "conversation_id": conversation["conversation_id"]}
    )
    job = wait_for_job(api, accepted.json()["job"]["id"])

    reply = job["result"]["reply"]
    assert "{{" not in reply
    assert [m.group(0) for m in IDENTIFIER.finditer(reply) if m.group(0) not in allowed] == []


def test_a_generate_job_decodes_with_the_phrase_loop_rules_it_was_given(api: httpx.Client) -> None:
    body = {"prompt": "The market opened", "max_new_tokens": 24, "temperature": 0, "seed": 1}
    rules = {"no_repeat_ngram_size": 2, "repetition_penalty": 1.3}
    accepted = api.post("/api/generate", json=body | rules)

    job = wait_for_job(api, accepted.json()["id"])

    assert job["status"] == "done", job["error"]
    assert {name: job["input"][name] for name in rules} == rules
    # Greedy decoding is deterministic: the worker's text is the one these rules give in this process.
    served = get_registry().served("generator").model
    expected = served.generate_batch([GenerationRequest(**body, **rules)])[0]
    assert job["result"]["texts"] == expected
