"""Slack's delivery rules, in one place for every listener.

Slack delivers an event again when it did not see an ack in 3 seconds, and a retry may be the only
delivery that arrives. So nothing is dropped for being a retry: each job made from an event carries
the event's id as its idempotency key, and the job row (kept far longer than Slack's 10 minutes of
retries) makes a second delivery a no-op.
"""

from __future__ import annotations

from typing import Any

from db import queries
from db.engine import new_session


def event_idempotency_key(body: dict[str, Any]) -> str:
    return f"slack-event:{body['event_id']}"


def job_exists_for(idempotency_key: str) -> bool:
    with new_session() as session:
        return queries.get_job_by_idempotency_key(session, idempotency_key) is not None


def is_plain_user_message(event: dict[str, Any]) -> bool:
    """A message a person wrote: no edits, joins or other subtypes, and no bot (ours or another)."""
    return not event.get("subtype") and not event.get("bot_id") and bool(event.get("user"))
