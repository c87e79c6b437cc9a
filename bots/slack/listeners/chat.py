"""Chat: a mention in a channel or a direct message becomes a customer-service reply job.

The bot answers in the message's thread: a placeholder at once, which the delivery task replaces
with the answer (or the streamer, while a generated answer is written: workers/slack/streaming.py).
A Slack thread is one conversation, so its earlier turns are the reply's memory. Assistant threads
(listeners/assistant.py) take their messages through :func:`take_message` too, with a status in place
of the placeholder.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from slack_sdk.errors import SlackApiError
from slack_sdk.web import WebClient

from bots.gateway import QueueFull, QueueUnavailable, submit_chat_message
from bots.slack.events import event_idempotency_key, is_plain_user_message, job_exists_for
from core.jobs import JobSource
from core.slack import SlackTarget
from db.engine import new_session

log = logging.getLogger(__name__)

PLACEHOLDER_TEXT = ":hourglass_flowing_sand: Working on it…"
EMPTY_MENTION_TEXT = "Hi! Ask me a question after the mention, or try `/queuebot help`."
QUEUE_DOWN_TEXT = ":warning: I cannot take questions right now (the job queue is down). Try again soon."
QUEUE_FULL_TEXT = ":warning: Too many questions are waiting right now; please ask again in a minute."
MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def register(app: Any) -> None:
    app.event("app_mention")(answer)
    app.event("message", matchers=[is_direct_message])(answer)


def is_direct_message(event: dict[str, Any]) -> bool:
    return event.get("channel_type") == "im" and is_plain_user_message(event)


# Shows the asker that the bot is working on their message, in (client, channel, thread_ts); returns the
# placeholder message's ts, or None when there is none to replace (its failure is logged, or a status
# shows instead).
ShowWorking = Callable[[WebClient, str, str], str | None]


def answer(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
    take_message(body, event, client, show_working=post_placeholder)


def take_message(
    body: dict[str, Any], event: dict[str, Any], client: WebClient, *, show_working: ShowWorking
) -> None:
    """The message becomes a reply job in its thread's conversation, answered in the thread."""
    channel, user = event["channel"], event.get("user")
    thread_ts = event.get("thread_ts") or event["ts"]
    text = " ".join(MENTION.sub(" ", event.get("text", "")).split())
    key = event_idempotency_key(body)
    if job_exists_for(key):
        log.info("slack event %s: already answered; retry ignored", key)
        return
    if not text:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=EMPTY_MENTION_TEXT)
        return

    placeholder_ts = show_working(client, channel, thread_ts)
    target = SlackTarget(channel=channel, thread_ts=thread_ts, placeholder_ts=placeholder_ts, user_id=user)
    try:
        with new_session() as session:
            job, created = submit_chat_message(
                session,
                text,
                JobSource.SLACK,
                external_id=f"{channel}:{thread_ts}",
                idempotency_key=key,
                slack_target=target,
            )
    except ValidationError as exc:
        _say_instead(client, channel, thread_ts, placeholder_ts, f":warning: {_first_error(exc)}")
        return
    except QueueUnavailable:
        _say_instead(client, channel, thread_ts, placeholder_ts, QUEUE_DOWN_TEXT)
        return
    except QueueFull:
        _say_instead(client, channel, thread_ts, placeholder_ts, QUEUE_FULL_TEXT)
        return
    if not created and placeholder_ts is not None:
        # A retry of this event got its job in first; its own placeholder is the one to answer.
        client.chat_delete(channel=channel, ts=placeholder_ts)
    log.info("slack event %s: reply job %s (created: %s)", key, job.id, created)


def post_placeholder(client: WebClient, channel: str, thread_ts: str) -> str | None:
    try:
        return str(client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=PLACEHOLDER_TEXT)["ts"])
    except SlackApiError as exc:
        # The answer is still posted, as a new message, once the job is done.
        log.warning("could not post a placeholder in %s: %s", channel, exc.response.get("error"))
        return None


def _say_instead(
    client: WebClient, channel: str, thread_ts: str, placeholder_ts: str | None, text: str
) -> None:
    if placeholder_ts is None:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
    else:
        client.chat_update(channel=channel, ts=placeholder_ts, text=text)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"Sorry, I cannot take that message: {error['msg']}"
