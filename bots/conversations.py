"""Ending a handoff: a person hands the conversation back to the bot, from Slack or the web API.

Both call :func:`resume_conversation`, so there is one way to do it and one log line for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import update

from bots.not_found import NotFound
from db.base import utcnow
from db.engine import session_scope
from db.models import Conversation, ConversationStatus

log = logging.getLogger(__name__)


class UnknownConversation(NotFound):
    pass


@dataclass(frozen=True)
class Resumed:
    conversation_id: int
    status: ConversationStatus
    # False when the conversation was already with the bot: a second click, or the API and Slack both.
    changed: bool


def resume_conversation(conversation_id: int, by: str | None = None) -> Resumed:
    """Set the conversation's status back to ``open``, so the bot answers its next message.

    A conditional UPDATE rather than read-then-write: of two people clicking at once, exactly one
    is told they changed it.
    """
    with session_scope() as session:
        changed = session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.status != ConversationStatus.OPEN)
            .values(status=ConversationStatus.OPEN, updated_at=utcnow())
        ).rowcount
        if not changed and session.get(Conversation, conversation_id) is None:
            raise UnknownConversation(f"conversation {conversation_id} does not exist")
    who = by or "someone unnamed"
    if changed:
        log.info("conversation %d handed back to the bot by %s", conversation_id, who)
    else:
        log.info("conversation %d already with the bot; resume by %s changed nothing", conversation_id, who)
    return Resumed(conversation_id, ConversationStatus.OPEN, bool(changed))
