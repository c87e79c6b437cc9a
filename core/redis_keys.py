"""Every Redis key and channel queuebot itself uses, named in one place, each under ``queuebot:``.

The prefix keeps queuebot's keys apart from Celery's (its queues, ``unacked``, ``_kombu.*``) and from
anything else sharing the database; one module lets a reader see them all, so that two features
cannot pick the same name (spike detection's topic locks once shared a namespace with its run lock,
for a topic named "run"). A name that ends in ":" is a prefix: what the key is kept for follows it.
"""

from __future__ import annotations

PREFIX = "queuebot:"

# The web process.
RATE_LIMIT = "queuebot:ratelimit:"  # + bucket: a hashed credential, or a client address
MODEL_STATUS = "queuebot:model-status"  # hash: model name -> what `queuebot up`'s build is doing

# A job's status changes, one pub/sub channel per job. Workers publish after each change is committed;
# the web app's event stream (GET /api/jobs/{id}/events) wakes on them and rereads the job row, which
# stays the only source of truth: a lost announcement delays an update, it never changes one.
JOB_EVENTS = "queuebot:job-events:"  # + job id
# A generation's text as it is decoded, one stream per job (core/job_text.py says why a stream).
JOB_TEXT = "queuebot:job-text:"  # + job id

# Workers: liveness and recovery.
WORKER_ALIVE = "queuebot:worker-alive:"  # + process name
SWEEP_RUNNING = "queuebot:sweep:running"

# Replies: one answer at a time per conversation.
CONVERSATION_TURN = "queuebot:conversation-turn:"  # + conversation id

# Posting to Slack.
SLACK_CHANNEL_PACE = "queuebot:slack:channel-pace:"  # + channel
SLACK_DELIVERY_LEASE = "queuebot:slack:delivery-lease:"  # + delivery id
SLACK_NOTICE_SENT = "queuebot:slack:notice-sent:"  # + notice name
SLACK_STREAMED = "queuebot:slack:streamed:"  # + delivery id: its answer was followed once already
SLACK_PREVIEW_BUDGET = "queuebot:slack:preview-budget:"  # + method + ":" + minute: preview calls made

# Spike detection (workers/monitoring/spike_detection.py says what each holds).
SPIKES_JUDGED_UNTIL = "queuebot:spikes:judged-until"
SPIKES_HELD_BACK = "queuebot:spikes:held-back"
SPIKES_TOUCHED = "queuebot:spikes:touched"
SPIKES_NOTE_NUMBER = "queuebot:spikes:note-number"
SPIKES_RUN_LOCK = "queuebot:spikes:run-lock"
SPIKES_RUN_SENT = "queuebot:spikes:run-sent"
SPIKES_TOPIC_LOCK = "queuebot:spikes:topic-lock:"  # + topic

# `queuebot benchmark`'s naive baseline counts its finished tasks here.
BENCHMARK_COUNTER = "queuebot:benchmark:"  # + run id


def job_events_channel(job_id: str) -> str:
    return f"{JOB_EVENTS}{job_id}"


def job_text_stream(job_id: str) -> str:
    return f"{JOB_TEXT}{job_id}"


def all_names() -> dict[str, str]:
    """Every name above, by its constant's name."""
    return {name: value for name, value in globals().items() if name.isupper() and name != "PREFIX"}
