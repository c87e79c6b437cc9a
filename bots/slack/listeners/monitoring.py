"""Monitored channels: every message people write there goes to sentiment monitoring.

The channel's topic comes from the settings (channel id -> topic; an empty topic is the channel id).
Nothing is posted back: the observations feed trends and alerts.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from bots.gateway import QueueFull, submit_job
from bots.slack.events import event_idempotency_key, is_plain_user_message
from core.jobs import MAX_SENTIMENT_TEXT_CHARS, JobKind, JobSource, SentimentItem, SentimentPayload
from core.settings import Settings
from db.engine import new_session

log = logging.getLogger(__name__)

SOURCE = "slack"


def register(app: Any, settings: Settings) -> None:
    topics = {channel: topic or channel for channel, topic in settings.slack_monitored_channels.items()}

    def in_monitored_channel(event: dict[str, Any]) -> bool:
        return event.get("channel") in topics and is_plain_user_message(event) and bool(event.get("text"))

    def monitor_message(body: dict[str, Any], event: dict[str, Any]) -> None:
        item = SentimentItem(
            # The monitor classifies what was said; a message longer than a model reads is cut here.
            text=event["text"][:MAX_SENTIMENT_TEXT_CHARS],
            topic=topics[event["channel"]],
            source=SOURCE,
            occurred_at=datetime.fromtimestamp(float(event["ts"]), UTC),
        )
        try:
            with new_session() as session:
                job, created = submit_job(
                    session,
                    JobKind.SENTIMENT,
                    SentimentPayload(items=[item]),
                    JobSource.SLACK,
                    idempotency_key=event_idempotency_key(body),
                    # A channel's messages come once; with the broker down they wait in the table.
                    accept_while_queue_down=True,
                )
        except (ValidationError, QueueFull) as exc:
            log.error("monitored message in %s not classified: %s", event["channel"], exc)
            return
        log.info("monitored message in %s: sentiment job %s (created: %s)", event["channel"], job.id, created)

    app.event("message", matchers=[in_monitored_channel])(monitor_message)
