"""Customer-service replies: the approved answer to the nearest known customer question, made safe
for this conversation (workers/services/reply_guard.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.jobs import REPLY_RETRIEVER_MODEL, ReplyPayload
from core.settings import get_settings
from db.engine import session_scope
from db.models import Message, MessageRole
from workers.job_runner import JobOutcome
from workers.registry import get_registry
from workers.services.reply_guard import guard_reply

SOURCES_SHOWN = 3


def answer_message(job_id: str, job_input: dict[str, Any]) -> JobOutcome:
    payload = ReplyPayload.model_validate(job_input)
    served = get_registry().served(REPLY_RETRIEVER_MODEL)
    retriever = served.model
    hits = retriever.search(payload.text, k=SOURCES_SHOWN)
    if not hits:
        raise LookupError("the reply index is empty: rebuild the reply-retriever model")
    best = hits[0]
    guarded = guard_reply(best.answer, _customer_texts(payload), get_settings().reply_slot_values)
    reply = Message(
        conversation_id=payload.conversation_id, role=MessageRole.BOT, text=guarded.text, job_id=job_id
    )
    return JobOutcome(
        result={
            "reply": guarded.text,
            "path": "retrieval",
            "intent": best.intent,
            "score": best.score,
            "sources": [
                {"question": hit.question, "intent": hit.intent, "category": hit.category, "score": hit.score}
                for hit in hits
            ],
            # What the guard changed in the approved answer: filled placeholders, removed identifiers.
            "guard": {"filled": guarded.filled, "removed": guarded.removed},
        },
        model_name=served.name,
        model_version=served.version,
        rows=[reply],
    )


def _customer_texts(payload: ReplyPayload) -> list[str]:
    """Everything the customer wrote in this conversation up to this message: the only source of
    identifiers (order numbers and the like) a reply may repeat."""
    with session_scope() as session:
        earlier = session.scalars(
            select(Message.text).where(
                Message.conversation_id == payload.conversation_id,
                Message.role == MessageRole.USER,
                Message.id < payload.message_id,
            )
        ).all()
    return [*earlier, payload.text]
