"""Slack's assistant surface ("Agents & AI Apps"): a side panel where a person talks to the bot in
threads of its own, through bolt's ``Assistant`` middleware, which routes the surface's events here.

- A thread starts (``assistant_thread_started``): suggested prompts to begin with.
- The person looks at another channel (``assistant_thread_context_changed``): noted only; the answers
  come from the knowledge base, not from the channel.
- A message in the thread: the same customer-service pipeline as a mention or a direct message
  (:func:`bots.slack.listeners.chat.take_message`, then bots/gateway.py), with the thread's status
  "is thinking…" in place of a placeholder message, and the first question as the thread's title.
  Slack clears the status when the answer is posted, streamed or whole.

A reply in a thread of an ordinary direct message reaches this listener too (bolt cannot tell the two
apart); Slack refuses a status there, and the placeholder is posted instead.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Assistant, SetStatus, SetSuggestedPrompts, SetTitle
from slack_sdk.errors import SlackApiError
from slack_sdk.web import WebClient
from sqlalchemy import select

from bots.slack.listeners.chat import post_placeholder, take_message
from core.jobs import JobSource
from core.slack import one_line
from db.engine import new_session
from db.models import Conversation

log = logging.getLogger(__name__)

THINKING_STATUS = "is thinking…"
PROMPTS_TITLE = "Ask me about your orders"
SUGGESTED_PROMPTS = [
    {"title": "Cancel an order", "message": "I want to cancel my order"},
    {"title": "Track a parcel", "message": "Where is my package?"},
    {"title": "Get a refund", "message": "How do I get a refund?"},
]
TITLE_CHARS = 60


def register(app: Any) -> None:
    assistant = Assistant()
    assistant.thread_started(suggest_prompts)
    assistant.thread_context_changed(note_context)
    assistant.user_message(answer_in_thread)
    app.assistant(assistant)


def suggest_prompts(set_suggested_prompts: SetSuggestedPrompts) -> None:
    set_suggested_prompts(prompts=SUGGESTED_PROMPTS, title=PROMPTS_TITLE)


def note_context(payload: dict[str, Any]) -> None:
    thread = payload.get("assistant_thread", {})
    log.debug("assistant thread %s now beside %s", thread.get("thread_ts"), thread.get("context"))


def answer_in_thread(
    body: dict[str, Any], event: dict[str, Any], client: WebClient, set_status: SetStatus, set_title: SetTitle
) -> None:
    def show_status(client: WebClient, channel: str, thread_ts: str) -> str | None:
        if _first_question(channel, thread_ts):
            _set_title(set_title, event.get("text", ""))
        try:
            set_status(THINKING_STATUS)
        except SlackApiError as exc:
            log.info("no status in %s (%s); a placeholder instead", channel, exc.response.get("error"))
            return post_placeholder(client, channel, thread_ts)
        return None

    take_message(body, event, client, show_working=show_status)


def _first_question(channel: str, thread_ts: str) -> bool:
    with new_session() as session:
        return (
            session.scalar(
                select(Conversation.id).where(
                    Conversation.source == JobSource.SLACK,
                    Conversation.external_id == f"{channel}:{thread_ts}",
                )
            )
            is None
        )


def _set_title(set_title: SetTitle, text: str) -> None:
    title = one_line(text, TITLE_CHARS)
    if not title:
        return
    try:
        set_title(title)
    except SlackApiError as exc:
        log.info("thread title not set (%s)", exc.response.get("error"))
