"""The click log as training records: each impression with its context, the shown articles (with the
questions that define each article's vector) and its clicks. Written by `queuebot export clicks`,
read by training/recommender/click_log.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db.models import KnowledgeQuestion, RecommendationImpression

PAGE = 500


def click_log_records(session: Session) -> Iterator[dict[str, Any]]:
    """Oldest first, a page of impressions at a time."""
    last_created, last_id = None, ""
    while True:
        query = (
            select(RecommendationImpression)
            .options(selectinload(RecommendationImpression.clicks))
            .order_by(RecommendationImpression.created_at, RecommendationImpression.id)
            .limit(PAGE)
        )
        if last_created is not None:
            query = query.where(
                (RecommendationImpression.created_at > last_created)
                | (
                    (RecommendationImpression.created_at == last_created)
                    & (RecommendationImpression.id > last_id)
                )
            )
        page = session.scalars(query).all()
        if not page:
            return
        questions = _questions({int(item["entry_id"]) for imp in page for item in imp.items}, session)
        for impression in page:
            yield {
                "impression_id": impression.id,
                "job_id": impression.job_id,
                "conversation_id": impression.conversation_id,
                "created_at": impression.created_at.isoformat(),
                "ranker": impression.ranker_version,
                "context": impression.context,
                "shown": [
                    item | {"questions": questions.get(int(item["entry_id"]), [])}
                    for item in impression.items
                ],
                "clicks": [
                    {
                        "entry_id": click.entry_id,
                        "position": click.position,
                        "source": click.source.value,
                        "user": click.user_id,
                        "clicked_at": click.created_at.isoformat(),
                    }
                    for click in impression.clicks
                ],
            }
        last_created, last_id = page[-1].created_at, page[-1].id


def _questions(entry_ids: set[int], session: Session) -> dict[int, list[str]]:
    """The entries' questions as stored now (an entry deleted since has none)."""
    found: dict[int, list[str]] = defaultdict(list)
    rows = session.execute(
        select(KnowledgeQuestion.entry_id, KnowledgeQuestion.text)
        .where(KnowledgeQuestion.entry_id.in_(entry_ids))
        .order_by(KnowledgeQuestion.id)
    )
    for entry_id, text in rows:
        found[entry_id].append(text)
    return dict(found)
