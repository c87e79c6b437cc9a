"""Suggested articles from the bots' side: the latest ones of a conversation, and logging a click
(from the web API or a Slack button) with who clicked, which article and where it was shown.

Both surfaces call :func:`record_click`, so a click is logged the same way wherever it came from.
The web process loads no model, so it never ranks: it reads what the worker stored with the reply.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bots.not_found import NotFound
from core.jobs import JobSource
from core.settings import get_settings
from db.engine import session_scope
from db.models import Conversation, KnowledgeEntry, RecommendationClick, RecommendationImpression
from workers.replies.guard import guard_reply


class UnknownImpression(NotFound):
    pass


class NotShown(ValueError):
    """The clicked article was not among the impression's suggestions."""


@dataclass(frozen=True)
class Article:
    entry_id: int
    title: str
    # The approved answer made safe to show on its own: site facts filled, example identifiers out.
    text: str | None  # None when the entry was deleted after it was suggested


@dataclass(frozen=True)
class LoggedClick:
    id: int
    impression_id: str
    entry_id: int
    position: int
    source: JobSource
    user_id: str
    article: Article


def latest_impression(session: Session, conversation_id: int) -> RecommendationImpression | None:
    if session.get(Conversation, conversation_id) is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    return session.scalar(
        select(RecommendationImpression)
        .where(RecommendationImpression.conversation_id == conversation_id)
        .order_by(RecommendationImpression.created_at.desc(), RecommendationImpression.id.desc())
        .limit(1)
    )


def record_click(impression_id: str, entry_id: int, source: JobSource, user_id: str) -> LoggedClick:
    with session_scope() as session:
        impression = session.get(RecommendationImpression, impression_id)
        if impression is None:
            raise UnknownImpression(f"impression {impression_id} does not exist")
        shown = {int(item["entry_id"]): item for item in impression.items}
        if entry_id not in shown:
            raise NotShown(
                f"entry {entry_id} was not suggested in impression {impression_id}: {sorted(shown)}"
            )
        item = shown[entry_id]
        click = RecommendationClick(
            impression_id=impression_id,
            entry_id=entry_id,
            position=int(item["position"]),
            source=source,
            user_id=user_id,
        )
        session.add(click)
        session.flush()
        entry = session.get(KnowledgeEntry, entry_id)
        text = None if entry is None else guard_reply(entry.answer, [], get_settings().reply_slot_values).text
        return LoggedClick(
            click.id,
            impression_id,
            entry_id,
            click.position,
            source,
            user_id,
            Article(entry_id, str(item["title"]), text),
        )
