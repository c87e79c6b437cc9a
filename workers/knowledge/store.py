"""Writing knowledge items to the database: one entry per (intent, answer), questions merged."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import KnowledgeEntry, KnowledgeQuestion
from workers.knowledge.sources import KnowledgeItem


@dataclass(frozen=True)
class ImportCounts:
    entries_added: int
    questions_added: int
    unchanged: int  # items whose entry and questions were all stored already


def store_items(session: Session, items: Iterable[KnowledgeItem], source: str) -> ImportCounts:
    """Add the items' entries and question variants that are not stored yet (caller commits).

    Importing the same file twice changes nothing; a file with a new way to ask for a stored answer
    adds that question to the existing entry.
    """
    merged: dict[str, KnowledgeItem] = {}
    for item in items:
        key = KnowledgeEntry.key_for(item.intent, item.answer)
        seen = merged.get(key)
        merged[key] = item if seen is None else _merge(seen, item)
    existing = {
        entry.content_key: entry
        for entry in session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.content_key.in_(merged)))
    }
    entries_added = questions_added = unchanged = 0
    for key, item in merged.items():
        entry = existing.get(key)
        if entry is None:
            entry = KnowledgeEntry(
                intent=item.intent,
                category=item.category,
                answer=item.answer,
                tags=list(item.tags),
                source=source,
                content_key=key,
            )
            session.add(entry)
            entries_added += 1
        known = {question.text for question in entry.questions}
        new = [text for text in item.questions if text not in known]
        entry.questions.extend(KnowledgeQuestion(text=text) for text in new)
        questions_added += len(new)
        unchanged += entry.id is not None and not new
    return ImportCounts(entries_added, questions_added, unchanged)


def _merge(first: KnowledgeItem, second: KnowledgeItem) -> KnowledgeItem:
    return KnowledgeItem(
        intent=first.intent,
        answer=first.answer,
        questions=tuple(dict.fromkeys((*first.questions, *second.questions))),
        category=first.category or second.category,
        tags=tuple(dict.fromkeys((*first.tags, *second.tags))),
    )
