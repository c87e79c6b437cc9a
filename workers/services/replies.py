"""Customer-service replies: the approved answer to the nearest known customer question, made safe
for this conversation (workers/services/reply_guard.py), or a handoff to a person.

The customer is handed over, and told so plainly, when they ask for a person (the nearest known
question is one of the ``HANDOFF_INTENTS``), when no stored question is close enough to answer
from, and for every later message while the conversation waits for a person.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from core.jobs import HANDOFF_NOTICE_ROUTE, REPLY_RETRIEVER_MODEL, ReplyPayload
from core.settings import get_settings
from db.engine import session_scope
from db.models import Conversation, ConversationStatus, Message, MessageRole
from workers.job_runner import JobOutcome
from workers.registry import get_registry
from workers.services.reply_guard import guard_reply

SOURCES_SHOWN = 3
HANDOFF_INTENTS = frozenset({"contact_human_agent"})
# MiniLM cosine of the nearest stored question. Measured with the quick index: support questions
# 0.57-0.90 ("I need help" 0.57), off-topic ones 0.15-0.40 ("tell me a joke" 0.40).
MIN_ANSWER_SCORE = 0.45
HANDOFF_TEXT = (
    "I'm handing you over to a colleague who can help with this; they will answer here. "
    "I'm an automated assistant and could not answer it well myself."
)
WAITING_TEXT = "A colleague will answer you here soon; I've added your message to the conversation."


def answer_message(job_id: str, job_input: dict[str, Any]) -> JobOutcome:
    payload = ReplyPayload.model_validate(job_input)
    served = get_registry().served(REPLY_RETRIEVER_MODEL)
    hits = served.model.search(payload.text, k=SOURCES_SHOWN)
    if not hits:
        raise LookupError("the reply index is empty: rebuild the reply-retriever model")
    best = hits[0]
    status, customer_texts = _conversation_context(payload)
    result: dict[str, Any] = {
        "intent": best.intent,
        "score": best.score,
        "sources": [
            {"question": hit.question, "intent": hit.intent, "category": hit.category, "score": hit.score}
            for hit in hits
        ],
    }
    updates: list[Any] = []
    follow_ups: list[Any] = []
    if status is ConversationStatus.HANDOFF:
        text, result["path"], result["handoff_reason"] = WAITING_TEXT, "handoff", "waiting for a person"
    elif best.intent in HANDOFF_INTENTS or best.score < MIN_ANSWER_SCORE:
        text, result["path"] = HANDOFF_TEXT, "handoff"
        # A far-off nearest question says nothing about what was asked, whatever its intent.
        result["handoff_reason"] = (
            "no confident answer" if best.score < MIN_ANSWER_SCORE else "asked for a person"
        )
        updates.append(
            update(Conversation)
            .where(Conversation.id == payload.conversation_id)
            .values(status=ConversationStatus.HANDOFF)
        )
        follow_ups.append((HANDOFF_NOTICE_ROUTE, [payload.conversation_id, job_id]))
    else:
        guarded = guard_reply(best.answer, customer_texts, get_settings().reply_slot_values)
        text, result["path"] = guarded.text, "retrieval"
        # What the guard changed in the approved answer: filled placeholders, removed identifiers.
        result["guard"] = {"filled": guarded.filled, "removed": guarded.removed}
    reply = Message(conversation_id=payload.conversation_id, role=MessageRole.BOT, text=text, job_id=job_id)
    return JobOutcome(
        result={"reply": text, **result},
        model_name=served.name,
        model_version=served.version,
        rows=[reply],
        updates=updates,
        follow_ups=follow_ups,
    )


def _conversation_context(payload: ReplyPayload) -> tuple[ConversationStatus, list[str]]:
    """The conversation's status, and everything the customer wrote in it up to this message: the
    only source of identifiers (order numbers and the like) a reply may repeat."""
    with session_scope() as session:
        status = session.get_one(Conversation, payload.conversation_id).status
        earlier = session.scalars(
            select(Message.text).where(
                Message.conversation_id == payload.conversation_id,
                Message.role == MessageRole.USER,
                Message.id < payload.message_id,
            )
        ).all()
    return status, [*earlier, payload.text]
