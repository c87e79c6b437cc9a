"""The knowledge base through the REST API: the web process stores entries, a real worker embeds
their questions, and an edit is embedded again."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models import KnowledgeQuestion
from tests.support.waiting import wait_for
from workers.knowledge.embedding import KB_ENCODER_NAME

pytestmark = pytest.mark.usefixtures("celery_worker")


def _entry_body(
    intent: str, *questions: str, answer: str = "Refunds take 5 to 7 business days."
) -> dict[str, Any]:
    return {"intent": intent, "answer": answer, "questions": list(questions), "tags": ["refunds"]}


def _wait_until_embedded(api: httpx.Client, entry_id: int) -> dict[str, Any]:
    return wait_for(
        lambda: api.get(f"/api/kb/{entry_id}").json(),
        f"knowledge entry {entry_id} embedded",
        until=lambda entry: all(question["embedded"] for question in entry["questions"]),
    )


def test_a_new_entry_is_stored_at_once_and_embedded_by_the_worker(api: httpx.Client) -> None:
    intent = f"refund-{uuid.uuid4().hex[:6]}"

    created = api.post("/api/kb", json=_entry_body(intent, "where is my refund", "refund status"))

    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["intent"], body["source"], body["tags"]) == (intent, "api", ["refunds"])
    entry = _wait_until_embedded(api, body["id"])
    assert [q["text"] for q in entry["questions"]] == ["where is my refund", "refund status"]
    with session_scope() as session:
        models = session.scalars(
            select(KnowledgeQuestion.embedding_model).where(KnowledgeQuestion.entry_id == body["id"])
        )
        assert set(models) == {KB_ENCODER_NAME}


def test_an_edit_replaces_the_questions_and_embeds_the_entry_again(api: httpx.Client) -> None:
    intent = f"refund-{uuid.uuid4().hex[:6]}"
    entry_id = api.post("/api/kb", json=_entry_body(intent, "where is my refund")).json()["id"]
    _wait_until_embedded(api, entry_id)

    edited = api.put(
        f"/api/kb/{entry_id}",
        json=_entry_body(
            intent, "refund status", "when do I get my money back", answer="Refunds take 3 days."
        ),
    )

    assert edited.status_code == 200, edited.text
    assert [q["text"] for q in edited.json()["questions"]] == ["refund status", "when do I get my money back"]
    assert not any(q["embedded"] for q in edited.json()["questions"])
    entry = _wait_until_embedded(api, entry_id)
    assert entry["answer"] == "Refunds take 3 days."


def test_the_same_answer_twice_conflicts_and_unknown_entries_are_404(api: httpx.Client) -> None:
    body = _entry_body(f"refund-{uuid.uuid4().hex[:6]}", "where is my refund")
    entry_id = api.post("/api/kb", json=body).json()["id"]

    assert api.post("/api/kb", json=body).status_code == 409
    assert api.get("/api/kb/999999999").status_code == 404
    assert api.put("/api/kb/999999999", json=body).status_code == 404
    assert api.delete(f"/api/kb/{entry_id}").status_code == 204
    assert api.get(f"/api/kb/{entry_id}").status_code == 404


def test_an_entry_without_questions_or_with_unknown_fields_is_refused(api: httpx.Client) -> None:
    no_questions = api.post("/api/kb", json={"intent": "x", "answer": "y", "questions": []})
    unknown = api.post("/api/kb", json=_entry_body("x", "q") | {"colour": "red"})

    assert no_questions.status_code == unknown.status_code == 422
    assert no_questions.json()["detail"][0]["loc"] == ["body", "questions"]
    assert unknown.json()["detail"][0]["loc"] == ["body", "colour"]


def test_entries_are_listed_by_intent(api: httpx.Client) -> None:
    intent = f"hours-{uuid.uuid4().hex[:6]}"
    for answer in ("We open at 8.", "We close at 20."):
        api.post("/api/kb", json=_entry_body(intent, "opening hours", answer=answer))

    page = api.get("/api/kb", params={"intent": intent}).json()

    assert page["total"] == 2
    assert [entry["answer"] for entry in page["items"]] == ["We open at 8.", "We close at 20."]
