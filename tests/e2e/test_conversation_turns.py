"""Messages of one conversation are answered one at a time and in order, even when they arrive
together and the worker has threads to spare; other conversations are not held up."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from db.engine import session_scope
from db.models import Message, MessageRole
from tests.support.stack_fixtures import wait_for_job

pytestmark = pytest.mark.usefixtures("celery_worker")

QUESTIONS = [
    "I want to cancel my order",
    "How do I get a refund?",
    "Where is my package?",
    "Can I change my shipping address?",
    "I need to talk to a person",
    "How do I reset my password?",
]


def test_answers_are_stored_in_the_order_the_questions_came(api: httpx.Client) -> None:
    first = api.post("/api/chat", json={"message": QUESTIONS[0]}).json()
    conversation_id = first["conversation_id"]

    def ask(question: str) -> str:
        response = api.post("/api/chat", json={"message": question, "conversation_id": conversation_id})
        response.raise_for_status()
        return str(response.json()["job"]["id"])

    with ThreadPoolExecutor(len(QUESTIONS) - 1) as pool:
        job_ids = [first["job"]["id"], *pool.map(ask, QUESTIONS[1:])]
    for job_id in job_ids:
        assert wait_for_job(api, job_id)["status"] == "done"

    with session_scope() as session:
        messages = session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
        ).all()
        questions = [m.job_id for m in messages if m.role is MessageRole.USER]
        answers = [m.job_id for m in messages if m.role is MessageRole.BOT]
    assert answers == questions
