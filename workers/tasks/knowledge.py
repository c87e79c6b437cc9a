"""Celery task: embed the knowledge-base questions that have no embedding yet (batch queue)."""

from __future__ import annotations

import logging

from core.jobs import KNOWLEDGE_EMBED_ROUTE
from db.engine import session_scope
from workers.celery_app import celery_app
from workers.knowledge.embedding import KB_ENCODER_NAME, embed_pending_questions
from workers.registry import get_registry

log = logging.getLogger(__name__)


@celery_app.task(name=KNOWLEDGE_EMBED_ROUTE.task_name)
def embed_knowledge() -> None:
    # Takes no arguments: it embeds whatever is pending, so running it twice, or after an edit that
    # another run already covered, does nothing more.
    with session_scope() as session:
        count = embed_pending_questions(session, get_registry().knowledge_document_encoder(), KB_ENCODER_NAME)
    log.info("embedded %d knowledge-base questions", count)
