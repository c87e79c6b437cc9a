"""The knowledge base: approved answers, each with the customer questions it answers.

Retrieval compares a customer's message with the question variants, so each variant carries its
sentence embedding (float32 bytes) and the encoder that made it; an edited entry's variants lose
their embeddings until they are embedded again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, UTCDateTime, utcnow


class KnowledgeEntry(Base):
    __tablename__ = "knowledge_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    intent: Mapped[str] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(String(100), default=None)
    # May hold placeholders such as {{Order Number}}, filled from the conversation when answering.
    answer: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(200))  # the file or system it was imported from
    # Hash of (intent, answer): importing the same answer again adds its new questions only.
    content_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    questions: Mapped[list[KnowledgeQuestion]] = relationship(
        back_populates="entry", order_by="KnowledgeQuestion.id", cascade="all, delete-orphan"
    )

    __table_args__ = (Index("ix_knowledge_entries_intent", "intent"),)

    @staticmethod
    def key_for(intent: str, answer: str) -> str:
        return hashlib.sha256(f"{intent}\n{answer}".encode()).hexdigest()


class KnowledgeQuestion(Base):
    __tablename__ = "knowledge_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("knowledge_entries.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    embedding_model: Mapped[str | None] = mapped_column(String(200), default=None)

    entry: Mapped[KnowledgeEntry] = relationship(back_populates="questions")

    __table_args__ = (
        UniqueConstraint("entry_id", "text"),
        Index("ix_knowledge_questions_embedding_model", "embedding_model"),
    )
