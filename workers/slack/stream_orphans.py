"""A streamed message that no row names, found in its thread and deleted before the answer is posted.

The Slack streamer marks a delivery (``stream_requested_at``) before it asks Slack for a stream, and
clears the mark in the update that stores the stream's message as the delivery's placeholder
(workers/slack/streaming.py). A mark still set when the delivery posts means Slack may hold a message
this product lost: the streamer died between Slack's answer and that update, or a start that failed
in transit was carried out all the same.

Slack's streaming methods take no metadata and no idempotency key, so the message is recognised by
what is known of it: a reply in the delivery's thread, written by this bot, no older than the mark
(less ``CLOCK_SKEW_S``, as Slack's clock is not ours), and not the placeholder or answer of any
delivery stored in that thread. Each such message is deleted; the delivery then updates the
placeholder the thread already had, as for an answer that was never streamed. Two things it cannot
tell from an orphan, both only within the seconds around a crash: another delivery's message in the
same thread posted in the moment before its row was stored, and a refusal (queue full) posted into
the thread in those seconds.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, select, update

from db.base import utcnow
from db.engine import session_scope
from db.models import SlackDelivery
from workers.slack.client import BotIdentity, PermanentSlackError, bot_identity, slack_client, slack_errors

log = logging.getLogger(__name__)

# How far Slack's clock may run behind ours: messages this much older than the mark are searched too.
CLOCK_SKEW_S = 5.0
PAGE_SIZE = 200


def remove_orphaned_streams(delivery_id: int, channel: str, thread_ts: str, requested_at: datetime) -> None:
    """Delete the thread's messages that the delivery's streamer may have left unstored, then clear
    the mark. Raises ``RetryLater`` when Slack cannot be asked now (the delivery is tried again); a
    refusal (no history scope in this kind of channel) is logged and the answer posted all the same."""
    known = _stored_messages(channel, thread_ts)
    try:
        since = requested_at.timestamp() - CLOCK_SKEW_S
        orphans = [ts for ts in _bot_replies(channel, thread_ts, since, bot_identity()) if ts not in known]
        for ts in orphans:
            _delete(delivery_id, channel, ts)
    except PermanentSlackError as exc:
        log.warning(
            "slack delivery %d: cannot look for a streamed message left unstored (%s); one may stay "
            "beside the answer",
            delivery_id,
            exc,
        )
    clear_stream_request(delivery_id)


def mark_stream_requested(delivery_id: int) -> None:
    """Set the mark, unless an earlier request set it: the search starts from the first request whose
    message may be unknown."""
    with session_scope() as session:
        session.execute(
            update(SlackDelivery)
            .where(SlackDelivery.id == delivery_id, SlackDelivery.stream_requested_at.is_(None))
            .values(stream_requested_at=utcnow())
        )


def clear_stream_request(delivery_id: int) -> None:
    with session_scope() as session:
        session.execute(
            update(SlackDelivery).where(SlackDelivery.id == delivery_id).values(stream_requested_at=None)
        )


def _stored_messages(channel: str, thread_ts: str) -> set[str]:
    """Every placeholder and answer that a delivery in the thread names."""
    with session_scope() as session:
        rows = session.execute(
            select(SlackDelivery.placeholder_ts, SlackDelivery.message_ts).where(
                SlackDelivery.channel == channel,
                SlackDelivery.thread_ts == thread_ts,
                or_(SlackDelivery.placeholder_ts.is_not(None), SlackDelivery.message_ts.is_not(None)),
            )
        ).all()
    return {ts for row in rows for ts in row if ts is not None}


def _bot_replies(channel: str, thread_ts: str, since: float, bot: BotIdentity) -> list[str]:
    """The ts of the bot's replies in the thread from ``since`` (epoch seconds) on."""
    client = slack_client()
    found: list[str] = []
    cursor: str | None = None
    while True:
        with slack_errors():
            page = client.conversations_replies(
                channel=channel,
                ts=thread_ts,
                oldest=f"{since:.6f}",
                inclusive=True,
                limit=PAGE_SIZE,
                cursor=cursor,
            )
        for message in page.get("messages") or []:
            ts = str(message.get("ts", ""))
            by_bot = message.get("user") == bot.user_id or (
                bot.bot_id is not None and message.get("bot_id") == bot.bot_id
            )
            # The thread's first message comes back too, whatever ``oldest`` says.
            if by_bot and ts != thread_ts and float(ts) >= since:
                found.append(ts)
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None:
            return found


def _delete(delivery_id: int, channel: str, ts: str) -> None:
    try:
        with slack_errors():
            slack_client().chat_delete(channel=channel, ts=ts)
    except PermanentSlackError as exc:  # deleted already (message_not_found), or not ours to delete
        log.info("slack delivery %d: message %s not deleted (%s)", delivery_id, ts, exc)
        return
    log.warning("slack delivery %d: deleted message %s, streamed but never stored", delivery_id, ts)
