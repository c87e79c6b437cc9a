"""The alerts channel told that a customer waits for a person, with a link to their Slack thread."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from core.jobs import JobSource
from core.settings import get_settings
from db.engine import session_scope
from db.models import Conversation, Message, MessageRole
from workers.slack.client import PermanentSlackError, post, slack_client, wait_for_channel
from workers.slack.coordination import mark_notice_sent, notice_sent
from workers.slack.messages import handoff_message

log = logging.getLogger(__name__)


def post_handoff(conversation_id: int, job_id: str) -> None:
    """Tell the alerts channel that a customer is waiting for a person (once per handing-over job)."""
    channel = get_settings().slack_alerts_channel
    if channel is None:
        log.info("conversation %d handed over; no Slack alerts channel configured to say so", conversation_id)
        return
    with session_scope() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            raise LookupError(f"conversation {conversation_id} does not exist")
        last = session.scalar(
            select(Message.text)
            .where(Message.conversation_id == conversation_id, Message.role == MessageRole.USER)
            .order_by(Message.id.desc())
            .limit(1)
        )
    notice = f"handoff:{job_id}"
    if notice_sent(notice):
        return
    wait_for_channel(channel)
    # Asked only once the channel's turn is ours, so waiting for the turn repeats no Slack call.
    slack_thread = conversation.source is JobSource.SLACK
    permalink = _thread_permalink(conversation.external_id) if slack_thread else None
    text, blocks = handoff_message(conversation, last or "", permalink)
    post(channel, None, None, None, text, blocks)
    mark_notice_sent(notice)
    log.info("conversation %d: handoff posted to %s", conversation_id, channel)


def _thread_permalink(external_id: str | None) -> str | None:
    """A link to the Slack thread a conversation lives in (``channel:thread_ts``), or None.

    The notice matters more than the link: any failure here is logged and the notice goes without it.
    """
    channel, _, thread_ts = (external_id or "").partition(":")
    if not channel or not thread_ts:
        log.warning("slack conversation %r is not channel:thread_ts; notice without a link", external_id)
        return None
    try:
        response = slack_client().chat_getPermalink(channel=channel, message_ts=thread_ts)
    except (SlackApiError, OSError, PermanentSlackError) as exc:
        reason = exc.response.get("error") if isinstance(exc, SlackApiError) else exc
        log.warning("no permalink for %s (%s); the handoff notice goes without it", external_id, reason)
        return None
    permalink = response.get("permalink")
    return str(permalink) if permalink else None
