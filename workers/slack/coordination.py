"""Redis keys that every worker thread and machine posting to Slack shares.

- Pacing: Slack allows about one message per second per channel. One key per channel lives for the
  interval after a post; a delivery that finds it waits for the key to expire instead of posting.
- Notices sent once: a handoff notice is marked sent after it is posted; a redelivered task sees the
  mark and posts nothing.
- Delivery leases: a delivery task sent twice (the job's task ran twice, or a message came back
  after a crash) must not post twice; only the holder of the delivery's lease posts. The Slack
  streamer holds it for as long as it follows a job, renewing it.
- Streams once: a delivery's answer is followed by one streamer only, even when its job runs again.
- Preview budget: previews of answers being written (appends to a stream, updates of a placeholder)
  are counted per method and minute for the whole workspace, as Slack counts its rate limits.
"""

from __future__ import annotations

import time

from core import redis_keys
from core.settings import get_settings
from workers.redis_client import redis_client

NOTICE_MEMORY_S = 7 * 24 * 3600
# Longer than one post can take (the Slack client times out after 10 s).
LEASE_MS = 60_000


def claim_channel_slot(channel: str) -> float:
    """Claim the channel's next posting slot; returns 0 when claimed, else the seconds to wait."""
    settings = get_settings()
    interval_ms = int(settings.slack_channel_interval_s * 1000)
    if interval_ms <= 0:
        return 0.0
    client = redis_client()
    key = redis_keys.SLACK_CHANNEL_PACE + channel
    if client.set(key, 1, nx=True, px=interval_ms):
        return 0.0
    remaining_ms = client.pttl(key)
    # -2: expired between the two calls; -1 cannot happen (every key is set with an expiry).
    return max(remaining_ms, 1) / 1000


def take_delivery_lease(delivery_id: int) -> bool:
    client = redis_client()
    return bool(client.set(f"{redis_keys.SLACK_DELIVERY_LEASE}{delivery_id}", 1, nx=True, px=LEASE_MS))


def delivery_lease_held(delivery_id: int) -> bool:
    return bool(redis_client().exists(f"{redis_keys.SLACK_DELIVERY_LEASE}{delivery_id}"))


def renew_delivery_lease(delivery_id: int) -> None:
    redis_client().pexpire(f"{redis_keys.SLACK_DELIVERY_LEASE}{delivery_id}", LEASE_MS)


def release_delivery_lease(delivery_id: int) -> None:
    redis_client().delete(f"{redis_keys.SLACK_DELIVERY_LEASE}{delivery_id}")


def notice_sent(name: str) -> bool:
    return bool(redis_client().exists(f"{redis_keys.SLACK_NOTICE_SENT}{name}"))


def mark_notice_sent(name: str) -> None:
    redis_client().set(f"{redis_keys.SLACK_NOTICE_SENT}{name}", 1, ex=NOTICE_MEMORY_S)


def claim_stream(delivery_id: int) -> bool:
    """True for the first streamer of a delivery only."""
    return bool(
        redis_client().set(f"{redis_keys.SLACK_STREAMED}{delivery_id}", 1, nx=True, ex=NOTICE_MEMORY_S)
    )


def claim_preview_call(method: str) -> bool:
    """Count one preview call of ``method`` in this minute; False when the minute's budget is spent."""
    minute = int(time.time() // 60)
    key = f"{redis_keys.SLACK_PREVIEW_BUDGET}{method}:{minute}"
    pipe = redis_client().pipeline()
    pipe.incr(key)
    pipe.expire(key, 120)
    made, _ = pipe.execute()
    return int(made) <= get_settings().slack_preview_calls_per_minute
