"""Customer-service replies: an approved answer, a generated one with its sources, or a person.

For each message the intent model (``intent-support``, with out-of-scope detection) names what the
customer wants and the knowledge base gives its nearest entries; ``routing.choose_route``
picks the path:

- **template**: the predicted intent has an approved answer close to the message: that answer, made
  safe for this conversation by ``guard`` (site facts filled, the example customer's order
  numbers, amounts and name taken out or replaced by this customer's own);
- **generation**: nothing approved fits, but the knowledge base holds related answers: the GPT-2
  ``replies`` model writes a reply from the message, the conversation's last turns and those
  answers; the guard then drops any sentence with an amount or link they do not back;
- **handoff**: the customer asked for a person, nothing stored is close, or generation produced
  nothing usable: the conversation waits for a person (its status becomes ``handoff``), the alerts
  channel is told, and the bot says so plainly. Later messages get a holding reply until a person
  hands the conversation back.

Every result records the path and why, the intent and its confidence, the retrieval scores and
sources, what the guard changed, and the versions of every model and index used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sqlalchemy import select, update

from core.job_results import Recommendations, ReplyPath, ReplyResult
from core.jobs import HANDOFF_NOTICE_ROUTE, INTENT_MODEL, REPLIES_MODEL, ReplyPayload
from core.settings import get_settings
from db.engine import session_scope
from db.models import Conversation, ConversationStatus, Message, MessageRole, RecommendationImpression
from workers.job_runner import JobOutcome
from workers.knowledge.embedding import KB_ENCODER_NAME
from workers.knowledge.index import KnowledgeHit, KnowledgeIndex
from workers.knowledge.message_vectors import embed_messages
from workers.recommendations.serve import recommend
from workers.registry import ServedModel, get_registry
from workers.replies.generation import (
    CONTEXT_ANSWERS,
    generation_request,
    vet_generated,
)
from workers.replies.guard import guard_reply
from workers.replies.routing import SEARCH_DEPTH, SOURCES_SHOWN, Route, choose_route
from workers.text_stream import start_text_stream

HANDOFF_TEXT = (
    "I'm handing you over to a colleague who can help with this; they will answer here. "
    "I'm an automated assistant and could not answer it well myself."
)
WAITING_TEXT = "A colleague will answer you here soon; I've added your message to the conversation."


@dataclass(frozen=True)
class ConversationContext:
    status: ConversationStatus
    customer_texts: list[str]  # everything the customer wrote, this message last
    turns: list[tuple[str, str]]  # earlier (customer message, bot reply) pairs, oldest first


def answer_message(job_id: str, job_input: dict[str, Any]) -> JobOutcome:
    payload = ReplyPayload.model_validate(job_input)
    registry = get_registry()
    conversation = _conversation_context(payload)
    index = registry.knowledge_index()
    query = embed_messages(registry, [payload.text])  # embeds while the intent model runs
    intent_model, [prediction] = registry.classify(INTENT_MODEL, [payload.text])
    query_vector = query.result()[0]
    hits = index.search_vector(query_vector, k=SEARCH_DEPTH)
    result: dict[str, Any] = {
        "intent": prediction.label,
        "intent_confidence": round(prediction.confidence, 4),
        "score": hits[0].score if hits else None,
        "sources": [_source(hit) for hit in hits[:SOURCES_SHOWN]],
        "models": {
            intent_model.name: intent_model.version,
            "knowledge": {"encoder": KB_ENCODER_NAME, "questions": len(index)},
        },
    }
    produced_by = intent_model

    if conversation.status is ConversationStatus.HANDOFF:
        route = Route(ReplyPath.HANDOFF, "waiting for a person")
        text = WAITING_TEXT
    else:
        route = choose_route(prediction.label, hits)
        text = ""
        if route.path is ReplyPath.TEMPLATE:
            assert route.answer is not None
            guarded = guard_reply(
                route.answer.answer,
                conversation.customer_texts,
                get_settings().reply_slot_values,
                example_texts=[route.answer.question],
            )
            text = guarded.text
            result["answer_entry_id"] = route.answer.entry_id
            result["guard"] = {"filled": guarded.filled, "removed": guarded.removed}
        elif route.path is ReplyPath.GENERATION:
            replies_model = registry.served(REPLIES_MODEL)
            produced_by = replies_model
            result["models"][replies_model.name] = replies_model.version
            context = [hit.answer for hit in hits[:CONTEXT_ANSWERS]]
            settings = get_settings()
            vetted = vet_generated(
                _generate(replies_model, job_id, payload.text, conversation.turns, context),
                conversation.customer_texts,
                context,
                settings.reply_slot_values,
                registry.knowledge_encoder(),
                settings.reply_min_grounding,
            )
            text = vetted.guarded.text
            result["generated"] = vetted.generated
            result["guard"] = {"filled": vetted.guarded.filled, "removed": vetted.guarded.removed}
            if vetted.grounding is not None:
                result["grounding"] = round(vetted.grounding, 4)
            if vetted.refusal is not None:
                route = Route(ReplyPath.HANDOFF, vetted.refusal)
        if route.path is ReplyPath.HANDOFF:
            text = HANDOFF_TEXT

    result["path"] = route.path.value
    result["reason"] = route.reason
    if route.path is ReplyPath.HANDOFF:
        result["handoff_reason"] = route.reason
    starts_handoff = route.path is ReplyPath.HANDOFF and conversation.status is not ConversationStatus.HANDOFF
    reply = Message(conversation_id=payload.conversation_id, role=MessageRole.BOT, text=text, job_id=job_id)
    rows: list[Any] = [reply]
    if route.path is not ReplyPath.HANDOFF:
        suggested = _related_articles(job_id, payload, conversation, query_vector, index, route, hits)
        if suggested is not None:
            result["recommendations"], impression = suggested
            rows.append(impression)
    return JobOutcome(
        result=ReplyResult(reply=text, **result),
        model_name=produced_by.name,
        model_version=produced_by.version,
        rows=rows,
        updates=[_hand_over(payload.conversation_id)] if starts_handoff else [],
        follow_ups=[(HANDOFF_NOTICE_ROUTE, [payload.conversation_id, job_id])] if starts_handoff else [],
    )


def _related_articles(
    job_id: str,
    payload: ReplyPayload,
    conversation: ConversationContext,
    query_vector: np.ndarray,
    index: KnowledgeIndex,
    route: Route,
    hits: list[KnowledgeHit],
) -> tuple[Recommendations, RecommendationImpression] | None:
    """Articles to read next, never the answer just given: on the template path its entry and intent,
    on the generation path the answers the reply was written from."""
    if route.path is ReplyPath.TEMPLATE and route.answer is not None:
        exclude_entries, exclude_intents = {route.answer.entry_id}, {route.answer.intent}
    else:
        exclude_entries, exclude_intents = {hit.entry_id for hit in hits[:CONTEXT_ANSWERS]}, set()
    return recommend(
        get_registry(),
        index,
        job_id=job_id,
        conversation_id=payload.conversation_id,
        customer_texts=conversation.customer_texts,
        latest_vector=query_vector,
        exclude_entries=exclude_entries,
        exclude_intents=exclude_intents,
    )


def _source(hit: KnowledgeHit) -> dict[str, Any]:
    return {
        "entry_id": hit.entry_id,
        "question": hit.question,
        "intent": hit.intent,
        "category": hit.category,
        "score": round(hit.score, 4),
    }


def _generate(
    served: ServedModel, job_id: str, question: str, turns: list[tuple[str, str]], context: list[str]
) -> str:
    # Followers (the web chat, Slack) watch the draft arrive; the vetted reply stored with the job
    # replaces it, or the hand-off message does when the guard refuses the draft.
    stream = start_text_stream(job_id)
    request = replace(
        generation_request(served.model, question, turns, context, seed_text=job_id), listener=stream
    )
    assert served.batcher is not None
    [[decoded]] = served.batcher.submit([request])
    if stream is not None:
        stream.flush()
    return decoded


def _hand_over(conversation_id: int) -> Any:
    return (
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(status=ConversationStatus.HANDOFF)
    )


def _conversation_context(payload: ReplyPayload) -> ConversationContext:
    """The conversation's status and what was said before this message: the customer's messages are
    the only source of identifiers a reply may repeat; the last turns are generation's history."""
    with session_scope() as session:
        status = session.get_one(Conversation, payload.conversation_id).status
        earlier = session.execute(
            select(Message.role, Message.text)
            .where(Message.conversation_id == payload.conversation_id, Message.id < payload.message_id)
            .order_by(Message.id)
        ).all()
    turns: list[tuple[str, str]] = []
    question: str | None = None
    for role, text in earlier:
        if role is MessageRole.USER:
            question = text
        elif question is not None:
            turns.append((question, text))
            question = None
    customer = [text for role, text in earlier if role is MessageRole.USER]
    return ConversationContext(status, [*customer, payload.text], turns)
