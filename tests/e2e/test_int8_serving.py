"""A worker on the int8 backend serves real jobs: HTTP -> app -> database -> Redis -> Celery worker ->
the ONNX Runtime exports build-models made -> database, and the job reads back through the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from core.settings import reset_settings_cache
from db.engine import session_scope
from db.models import KnowledgeQuestion
from tests.support.stack_fixtures import ask_and_wait, wait_for_job
from tests.support.waiting import wait_for
from workers.knowledge.embedding import KB_ENCODER_NAME, bytes_to_vector
from workers.ml.backends import ONNX_INT8
from workers.ml.embedding import SentenceEncoder, minilm_path
from workers.model_store import ModelStore
from workers.registry import get_registry

pytestmark = pytest.mark.usefixtures("celery_worker")


@pytest.fixture
def int8_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The worker's settings switched to QUEUEBOT_INFERENCE_BACKEND=onnx-int8: its next job builds a
    registry that loads every classifier and the sentence encoder from their exports."""
    monkeypatch.setenv("QUEUEBOT_INFERENCE_BACKEND", ONNX_INT8)
    reset_settings_cache()
    yield
    monkeypatch.delenv("QUEUEBOT_INFERENCE_BACKEND")
    reset_settings_cache()


@pytest.mark.usefixtures("int8_backend")
def test_a_worker_on_the_int8_backend_serves_a_sentiment_job_and_a_chat_reply(
    api: httpx.Client, tiny_models_dir: Path
) -> None:
    items = [{"text": "The crew were wonderful, thank you"}, {"text": "Lost my bag again, awful"}]
    accepted = api.post("/api/sentiment", json={"items": items})
    assert accepted.status_code == 202, accepted.text
    job = wait_for_job(api, accepted.json()["id"])
    reply = ask_and_wait(api, "I want to cancel my order")

    assert job["status"] == "done", job["error"]
    assert job["model_version"] == ModelStore(tiny_models_dir).current_version("sentiment-general")
    assert job["result"]["count"] == 2
    assert reply["result"]["path"] in ("template", "generated", "handoff")
    assert reply["result"]["intent"] == "cancel_order"
    registry = get_registry()
    assert registry.settings.inference_backend == ONNX_INT8
    loaded = registry.loaded()
    assert loaded["sentiment-general"].model.backend == ONNX_INT8
    assert loaded["intent-support"].model.backend == ONNX_INT8
    assert registry.knowledge_encoder().backend == ONNX_INT8


@pytest.mark.usefixtures("int8_backend")
def test_questions_added_on_the_int8_backend_are_stored_as_the_fp32_vectors_their_name_says(
    api: httpx.Client,
) -> None:
    question = "Can I pay for my order with a gift card from the int8 test?"
    entry = {"intent": "payment_gift_card", "answer": "Yes, at checkout.", "questions": [question]}
    created = api.post("/api/kb", json=entry)
    assert created.status_code == 201, created.text
    entry_id = created.json()["id"]
    try:
        wait_for(
            lambda: api.get(f"/api/kb/{entry_id}").json(),
            f"knowledge entry {entry_id} embedded by the worker",
            until=lambda entry: all(q["embedded"] for q in entry["questions"]),
        )
        with session_scope() as session:
            rows = select(KnowledgeQuestion).where(KnowledgeQuestion.text == question)
            stored = session.scalars(rows).one()
            vector, encoder_name = bytes_to_vector(stored.embedding), stored.embedding_model
        fp32 = SentenceEncoder.load(minilm_path(), "cpu").encode([question])[0]
        queries = get_registry().knowledge_encoder()  # what the worker embeds customers' messages with
        assert queries.backend == ONNX_INT8
        # Stored in fp32, as the name says, though the worker's queries are embedded in int8.
        assert encoder_name == KB_ENCODER_NAME
        assert np.allclose(vector, fp32, atol=1e-5)
        assert not np.allclose(vector, queries.encode([question])[0], atol=1e-5)
    finally:
        assert api.delete(f"/api/kb/{entry_id}").status_code == 204
