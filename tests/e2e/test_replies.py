"""The reply pipeline's three paths through the web API, on real parts: an approved answer for a
confident intent, a GPT-2 reply written from the nearest answers (shown as its sources) where no
approved answer fits, and the knowledge base's edits reaching the worker without a restart.
(Handoff: tests/e2e/test_handoff.py; Slack: tests/bots/slack/test_reply_paths.py.)"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models import KnowledgeEntry, Message, MessageRole
from tests.support.knowledge_fixtures import CANCEL_QUESTION, DELIVERY_QUESTION, INTENT_WITHOUT_ANSWERS
from tests.support.stack_fixtures import ask_and_wait
from tests.support.waiting import wait_for
from workers.model_store import ModelStore
from workers.replies.guard import AMOUNT, LINK

pytestmark = pytest.mark.usefixtures("celery_worker")


def test_a_confident_intent_gets_its_approved_answer_made_safe_for_the_conversation(
    api: httpx.Client, tiny_models_dir: Path
) -> None:
    job = ask_and_wait(api, CANCEL_QUESTION)
    result = job["result"]

    assert (result["path"], result["intent"]) == ("template", "cancel_order")
    with session_scope() as session:
        entry = session.get_one(KnowledgeEntry, result["answer_entry_id"])
        assert entry.intent == "cancel_order"
        approved = entry.answer
        messages = session.scalars(
            select(Message).where(Message.conversation_id == job["conversation_id"]).order_by(Message.id)
        ).all()
    assert "{{" in approved and "{{" not in result["reply"]  # placeholders filled or removed
    assert result["guard"]["filled"] or result["guard"]["removed"]
    assert [(m.role, m.text) for m in messages] == [
        (MessageRole.USER, CANCEL_QUESTION),
        (MessageRole.BOT, result["reply"]),
    ]
    assert len(result["sources"]) == 3
    assert result["sources"][0]["score"] >= result["sources"][-1]["score"]
    store = ModelStore(tiny_models_dir)
    assert (job["model_name"], job["model_version"]) == (
        "intent-support",
        store.current_version("intent-support"),
    )
    assert result["models"]["intent-support"] == store.current_version("intent-support")
    assert result["models"]["knowledge"]["questions"] > 0


def test_an_intent_without_an_approved_answer_gets_a_generated_reply_with_its_sources(
    api: httpx.Client, tiny_models_dir: Path
) -> None:
    job = ask_and_wait(api, DELIVERY_QUESTION)
    result = job["result"]

    assert (result["path"], result["intent"]) == ("generation", INTENT_WITHOUT_ANSWERS)
    assert result["reply"].strip()
    assert (job["model_name"], job["model_version"]) == (
        "replies",
        ModelStore(tiny_models_dir).current_version("replies"),
    )
    assert result["models"]["intent-support"]
    assert len(result["sources"]) == 3
    assert all(source["intent"] != INTENT_WITHOUT_ANSWERS for source in result["sources"])
    with session_scope() as session:
        answers = [session.get_one(KnowledgeEntry, s["entry_id"]).answer.lower() for s in result["sources"]]
    # Whatever the model wrote, no amount or link reaches the customer unless a source holds it.
    for pattern in (AMOUNT, LINK):
        for found in pattern.finditer(result["reply"]):
            assert any(found.group(0).lower() in answer for answer in answers), found.group(0)


def test_a_new_approved_answer_is_used_as_soon_as_it_is_embedded(api: httpx.Client) -> None:
    created = api.post(
        "/api/kb",
        json={
            "intent": INTENT_WITHOUT_ANSWERS,
            "answer": "We deliver by standard post (3-5 days) and by express courier (next day).",
            "questions": [DELIVERY_QUESTION, "which shipping methods can I choose?"],
        },
    )
    assert created.status_code == 201, created.text
    entry_id = created.json()["id"]
    try:
        result = wait_for(
            lambda: ask_and_wait(api, DELIVERY_QUESTION)["result"],
            "the question answered with an approved answer",
            until=lambda result: result["path"] == "template",
            interval_s=0.5,
        )
        assert result["answer_entry_id"] == entry_id
        assert result["reply"] == "We deliver by standard post (3-5 days) and by express courier (next day)."
    finally:
        assert api.delete(f"/api/kb/{entry_id}").status_code == 204
