"""Conversations: list them (``?status=handoff``: the customers waiting for a person), read one,
and hand one back to the bot after a handoff (the same as the button on Slack's handoff notice)."""

from fastapi import APIRouter

from bots.conversations import resume_conversation
from bots.not_found import found
from bots.web.deps import SessionDep
from bots.web.routers._params import Limit, Offset, RowId
from bots.web.schemas import ConversationOut, ConversationPage, ConversationSummary, ResumeOut, ResumeRequest
from db import queries
from db.models import ConversationStatus

router = APIRouter(tags=["conversations"])


@router.get("/conversations", response_model=ConversationPage)
def list_conversations(
    session: SessionDep, status: ConversationStatus | None = None, limit: Limit = 50, offset: Offset = 0
) -> ConversationPage:
    """Most recently changed first; ``status=handoff`` lists the customers waiting for a person."""
    page = queries.list_conversations(session, status=status, limit=limit, offset=offset)
    return ConversationPage.of(page, ConversationSummary.model_validate)


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
def get_conversation(conversation_id: RowId, session: SessionDep) -> ConversationOut:
    """The conversation, its status and every message, oldest first."""
    conversation = found(
        queries.get_conversation(session, conversation_id), f"conversation {conversation_id}"
    )
    return ConversationOut.model_validate(conversation)


@router.post("/conversations/{conversation_id}/resume", response_model=ResumeOut)
def resume(conversation_id: RowId, body: ResumeRequest | None = None) -> ResumeOut:
    """End a handoff: the bot answers the conversation's next message again.

    Resuming a conversation that is already with the bot is not an error: it answers 200 with
    ``changed: false``, so a retry or a second person doing the same is harmless.
    """
    resumed = resume_conversation(conversation_id, by=body.by if body else None)
    return ResumeOut(conversation_id=resumed.conversation_id, status=resumed.status, changed=resumed.changed)
