"""Conversations written straight into the test database, in the state a test needs (a handoff,
say), without running the reply pipeline to get there."""

from __future__ import annotations

import uuid

from core.jobs import JobKind, JobSource, JobStatus
from db.engine import session_scope
from db.models import Conversation, ConversationStatus, Job, Message, MessageRole

# Far above any id a test session creates.
UNKNOWN_CONVERSATION_ID = 2_000_000_000


def add_conversation(
    *,
    source: JobSource = JobSource.API,
    status: ConversationStatus = ConversationStatus.HANDOFF,
    external_id: str | None = None,
    turns: tuple[tuple[MessageRole, str], ...] = (),
) -> int:
    """Store a conversation with these messages, in order; each user message gets a finished reply
    job of its own, as the gateway would have started; returns the conversation's id."""
    with session_scope() as session:
        conversation = Conversation(source=source, status=status, external_id=external_id)
        session.add(conversation)
        for role, text in turns:
            job_id = None
            if role is MessageRole.USER:
                job_id = str(uuid.uuid4())
                session.add(
                    Job(id=job_id, kind=JobKind.REPLY, status=JobStatus.DONE, source=source, input={})
                )
                session.flush()  # the job row before the message that names it
            session.add(Message(conversation=conversation, role=role, text=text, job_id=job_id))
        session.flush()
        return conversation.id


def conversation_status(conversation_id: int) -> ConversationStatus:
    with session_scope() as session:
        return session.get_one(Conversation, conversation_id).status
