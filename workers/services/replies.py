"""Customer-service replies: the approved answer to the nearest known customer question."""

from __future__ import annotations

from typing import Any

from core.jobs import REPLY_RETRIEVER_MODEL, ReplyPayload
from db.models import Message, MessageRole
from workers.job_runner import JobOutcome
from workers.registry import get_registry

SOURCES_SHOWN = 3


def answer_message(job_id: str, job_input: dict[str, Any]) -> JobOutcome:
    payload = ReplyPayload.model_validate(job_input)
    served = get_registry().served(REPLY_RETRIEVER_MODEL)
    retriever = served.model
    hits = retriever.search(payload.text, k=SOURCES_SHOWN)
    if not hits:
        raise LookupError("the reply index is empty: rebuild the reply-retriever model")
    best = hits[0]
    reply = Message(
        conversation_id=payload.conversation_id, role=MessageRole.BOT, text=best.answer, job_id=job_id
    )
    return JobOutcome(
        result={
            "reply": best.answer,
            "path": "retrieval",
            "intent": best.intent,
            "score": best.score,
            "sources": [
                {"question": hit.question, "intent": hit.intent, "category": hit.category, "score": hit.score}
                for hit in hits
            ],
        },
        model_name=served.name,
        model_version=served.version,
        rows=[reply],
    )
