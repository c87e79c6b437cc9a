"""Conversations and their messages: the memory a reply is written against."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.jobs import JobSource
from db.base import Base, UTCDateTime, enum_column, utcnow


class ConversationStatus(StrEnum):
    OPEN = "open"
    HANDOFF = "handoff"
    CLOSED = "closed"


class MessageRole(StrEnum):
    USER = "user"
    BOT = "bot"


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[JobSource] = mapped_column(enum_column(JobSource))
    # Where the conversation lives outside us (a Slack thread, a web session); unique per source.
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    status: Mapped[ConversationStatus] = mapped_column(
        enum_column(ConversationStatus), default=ConversationStatus.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id", cascade="all, delete-orphan"
    )

    __table_args__ = (UniqueConstraint("source", "external_id"),)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    role: Mapped[MessageRole] = mapped_column(enum_column(MessageRole))
    text: Mapped[str] = mapped_column(Text)
    # For a user message: the reply job it started. For a bot message: the job that wrote it.
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")

    __table_args__ = (
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        Index("ix_messages_job_id", "job_id"),
    )
