"""The conversations API over real HTTP: read a conversation with its messages, and hand one that
waits for a person back to the bot (idempotently, with the token, 404 for unknown ids)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from core.jobs import JobSource
from db.engine import session_scope
from db.models import Conversation, ConversationStatus, MessageRole
from tests.support.conversation_rows import UNKNOWN_CONVERSATION_ID, add_conversation, conversation_status

TURNS = (
    (MessageRole.USER, "Where is my parcel?"),
    (MessageRole.BOT, "You can track it under Orders."),
    (MessageRole.USER, "I want to talk to a person"),
    (MessageRole.BOT, "I'm handing you over to a colleague."),
)


def test_get_returns_the_conversation_and_its_messages_oldest_first(api: httpx.Client) -> None:
    external_id = f"C0TEST:{uuid.uuid4().int % 10**6}.000100"
    conversation_id = add_conversation(source=JobSource.SLACK, external_id=external_id, turns=TURNS)

    response = api.get(f"/api/conversations/{conversation_id}")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["source"], body["external_id"], body["status"]) == (
        conversation_id,
        "slack",
        external_id,
        "handoff",
    )
    assert {"created_at", "updated_at"} <= body.keys()
    assert [(m["role"], m["text"]) for m in body["messages"]] == [(r.value, t) for r, t in TURNS]
    with session_scope() as session:
        stored = session.get_one(Conversation, conversation_id)
        expected_jobs = [message.job_id for message in stored.messages]
    assert [m["job_id"] for m in body["messages"]] == expected_jobs
    assert all(m["created_at"] for m in body["messages"])


def test_resume_hands_a_waiting_conversation_back_to_the_bot(api: httpx.Client) -> None:
    conversation_id = add_conversation(turns=TURNS)

    response = api.post(f"/api/conversations/{conversation_id}/resume", json={"by": "dana@support"})

    assert response.status_code == 200
    assert response.json() == {"conversation_id": conversation_id, "status": "open", "changed": True}
    assert conversation_status(conversation_id) is ConversationStatus.OPEN
    assert api.get(f"/api/conversations/{conversation_id}").json()["status"] == "open"


def test_resume_needs_no_body(api: httpx.Client) -> None:
    conversation_id = add_conversation()

    response = api.post(f"/api/conversations/{conversation_id}/resume")

    assert response.status_code == 200
    assert conversation_status(conversation_id) is ConversationStatus.OPEN


def test_resuming_a_conversation_already_with_the_bot_succeeds_and_says_nothing_changed(
    api: httpx.Client,
) -> None:
    conversation_id = add_conversation(status=ConversationStatus.OPEN)

    first = api.post(f"/api/conversations/{conversation_id}/resume")
    second = api.post(f"/api/conversations/{conversation_id}/resume")

    for response in (first, second):
        assert response.status_code == 200
        assert response.json() == {"conversation_id": conversation_id, "status": "open", "changed": False}
    assert conversation_status(conversation_id) is ConversationStatus.OPEN


def test_resume_refuses_fields_it_does_not_know(api: httpx.Client) -> None:
    conversation_id = add_conversation()

    response = api.post(f"/api/conversations/{conversation_id}/resume", json={"who": "dana"})

    assert response.status_code == 422
    assert conversation_status(conversation_id) is ConversationStatus.HANDOFF


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/conversations/{UNKNOWN_CONVERSATION_ID}"),
        ("POST", f"/api/conversations/{UNKNOWN_CONVERSATION_ID}/resume"),
    ],
)
def test_an_unknown_conversation_is_404_naming_it(api: httpx.Client, method: str, path: str) -> None:
    response = api.request(method, path)

    assert response.status_code == 404
    assert response.json() == {"detail": f"conversation {UNKNOWN_CONVERSATION_ID} does not exist"}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_conversations_need_the_token_and_a_refused_resume_changes_nothing(
    anonymous_api: httpx.Client, method: str
) -> None:
    conversation_id = add_conversation(turns=TURNS)
    path = f"/api/conversations/{conversation_id}" + ("/resume" if method == "POST" else "")

    missing = anonymous_api.request(method, path)
    wrong = anonymous_api.request(method, path, headers={"Authorization": "Bearer not-the-token"})

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert "bearer token" in missing.json()["detail"]
    assert conversation_status(conversation_id) is ConversationStatus.HANDOFF


def test_the_openapi_schema_describes_both_endpoints_and_their_bodies(anonymous_api: httpx.Client) -> None:
    schema = anonymous_api.get("/openapi.json").json()

    get_op = schema["paths"]["/api/conversations/{conversation_id}"]["get"]
    resume_op = schema["paths"]["/api/conversations/{conversation_id}/resume"]["post"]
    assert get_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ConversationOut"
    )
    assert resume_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ResumeOut"
    )
    assert {"ConversationOut", "MessageOut", "ResumeRequest", "ResumeOut"} <= schema["components"][
        "schemas"
    ].keys()


def test_the_list_filtered_by_handoff_shows_only_customers_waiting_for_a_person(api: httpx.Client) -> None:
    waiting = add_conversation(status=ConversationStatus.HANDOFF)
    answered = add_conversation(status=ConversationStatus.OPEN)

    response = api.get("/api/conversations", params={"status": "handoff", "limit": 200})

    assert response.status_code == 200
    page = response.json()
    ids = [item["id"] for item in page["items"]]
    assert waiting in ids and answered not in ids
    assert {item["status"] for item in page["items"]} == {"handoff"}
    assert page["total"] >= 1 and page["limit"] == 200
    assert api.get("/api/conversations", params={"status": "lost"}).status_code == 422
