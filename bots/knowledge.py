"""Knowledge-base edits from the API: the web process stores them, a worker embeds the questions.

The web process never loads a model, so a new or changed entry's questions are stored without
embeddings and the ``queuebot.embed_knowledge`` task embeds them; until then search does not see them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.jobs import KNOWLEDGE_EMBED_ROUTE
from db.models import KnowledgeEntry, KnowledgeQuestion
from workers.celery_app import celery_app

log = logging.getLogger(__name__)


class DuplicateAnswer(ValueError):
    """Another entry already holds this intent and answer."""


def create_entry(
    session: Session,
    *,
    intent: str,
    answer: str,
    questions: Sequence[str],
    category: str | None,
    tags: Sequence[str],
    source: str,
) -> KnowledgeEntry:
    entry = KnowledgeEntry(
        intent=intent,
        answer=answer,
        category=category,
        tags=list(tags),
        source=source,
        content_key=KnowledgeEntry.key_for(intent, answer),
        questions=[KnowledgeQuestion(text=text) for text in dict.fromkeys(questions)],
    )
    session.add(entry)
    _commit(session, intent)
    request_embedding()
    return entry


def update_entry(
    session: Session,
    entry: KnowledgeEntry,
    *,
    intent: str,
    answer: str,
    questions: Sequence[str],
    category: str | None,
    tags: Sequence[str],
) -> KnowledgeEntry:
    """Replace the entry's fields and questions; every question is embedded again."""
    entry.intent, entry.answer, entry.category, entry.tags = intent, answer, category, list(tags)
    entry.content_key = KnowledgeEntry.key_for(intent, answer)
    wanted = list(dict.fromkeys(questions))
    entry.questions = [q for q in entry.questions if q.text in wanted]
    kept = {q.text for q in entry.questions}
    entry.questions.extend(KnowledgeQuestion(text=text) for text in wanted if text not in kept)
    for question in entry.questions:
        # An edited entry is embedded again whole, so it is searchable exactly as edited and with
        # the encoder in use now.
        question.embedding = None
        question.embedding_model = None
    _commit(session, intent)
    request_embedding()
    return entry


def request_embedding() -> None:
    celery_app.send_task(KNOWLEDGE_EMBED_ROUTE.task_name, queue=KNOWLEDGE_EMBED_ROUTE.queue.value)


def _commit(session: Session, intent: str) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise DuplicateAnswer(f"an entry with intent {intent!r} and this answer already exists") from None
