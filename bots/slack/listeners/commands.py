"""Slash commands. Each is acknowledged at once (Slack waits 3 seconds at most); jobs run on the
workers and their results are posted back to the command's response URL by the delivery task.

/generate answers in a thread instead, so that its text can be streamed while it is written (Slack
streams only into messages in a thread, never into an ephemeral reply): the bot posts the request in
the channel, a placeholder in its thread, and the result replaces the placeholder. Where the bot cannot
post (a channel it is not in), the result goes to the response URL as before, whole.

/imagine draws handwritten digits the same way: the request in the channel, the images uploaded into
its thread (workers/slack/images.py) and the placeholder replaced by what was drawn.

/ask, /generate, /imagine and /sentiment start jobs; /alerts and /job read stored state; /queuebot help lists
them all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

from pydantic import ValidationError
from slack_bolt import Ack
from slack_sdk.errors import SlackApiError
from slack_sdk.web import WebClient

from bots.gateway import QueueFull, QueueUnavailable, submit_chat_message, submit_job
from bots.slack.command_text import CommandError, describe, parse_generate, parse_imagine
from bots.slack.listeners.chat import post_placeholder
from core.jobs import JobKind, JobSource, SentimentItem, SentimentPayload
from core.slack import Block, SlackTarget, context, one_line, result_text, section
from db import queries
from db.engine import new_session
from db.models import Job

log = logging.getLogger(__name__)

# Texts classified with /sentiment are stored like any other observation, under their own topic so
# that they never skew a monitored topic's trend.
ADHOC_SENTIMENT_TOPIC = "slack-command"
ALERTS_SHOWN = 10
HELP = """*queuebot* answers questions, writes text and watches sentiment. Commands:
• `/ask <question>`: a customer-service answer
• `/generate <prompt> [max_tokens=64] [temperature=0.8]`: continue a text with GPT-2
• `/imagine <digit> [n=4] [seed=S]`: handwritten digits drawn by a GAN, in a thread
• `/sentiment <text>`: negative, neutral or positive, with scores
• `/alerts [topic]`: recent sentiment alerts
• `/job <id>`: a job's status and result
• `/queuebot help`: this list
You can also mention me in a channel or write to me directly: I answer in the thread."""
QUEUE_DOWN = ":warning: The job queue is down; nothing was started. Please try again soon."
QUEUE_FULL = ":warning: Too much work is waiting; nothing was started. Please try again in a minute."


def register(app: Any) -> None:
    for name, handler in COMMANDS.items():
        app.command(name)(handler)


def ask(ack: Ack, command: dict[str, Any]) -> None:
    question = command.get("text", "").strip()
    if not question:
        _answer(ack, "Usage: `/ask <question>`")
        return

    def start(target: SlackTarget) -> Job:
        with new_session() as session:
            # One conversation per person per channel, so follow-up questions keep their context.
            external_id = f"{command['channel_id']}:ask:{command['user_id']}"
            job, _ = submit_chat_message(
                session, question, JobSource.SLACK, external_id=external_id, slack_target=target
            )
        return job

    _start_job(ack, command, start)


def generate(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
    try:
        payload = parse_generate(command.get("text", ""))
    except CommandError as exc:
        _answer(ack, str(exc))
        return
    request = (
        f":writing_hand: <@{command['user_id']}> asked me to continue: “{_escaped(one_line(payload.prompt))}”"
    )
    thread = _open_thread(client, command, request)
    _start_job(ack, command, _submitter(JobKind.GENERATE, payload), thread=thread, client=client)


def imagine(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
    try:
        payload = parse_imagine(command.get("text", ""))
    except CommandError as exc:
        _answer(ack, str(exc))
        return
    drawings = "a handwritten" if payload.n == 1 else f"{payload.n} handwritten"
    request = f":art: <@{command['user_id']}> asked me to draw {drawings} *{payload.wanted_digit}*"
    thread = _open_thread(client, command, request)
    _start_job(
        ack,
        command,
        _submitter(JobKind.IMAGE, payload),
        thread=thread,
        client=client,
        thread_note="The images go in the thread.",
    )


class _Thread(NamedTuple):
    ts: str
    placeholder_ts: str | None


def _open_thread(client: WebClient, command: dict[str, Any], request: str) -> _Thread | None:
    """The request, posted in the channel, with a placeholder in its thread; None where the bot cannot
    post there."""
    channel = command["channel_id"]
    try:
        ts = str(client.chat_postMessage(channel=channel, text=request)["ts"])
    except SlackApiError as exc:
        log.info(
            "%s in %s: no thread (%s); the result goes to the response URL", command["command"], channel, exc
        )
        return None
    return _Thread(ts, post_placeholder(client, channel, ts))


def _escaped(text: str) -> str:
    """Slack's control characters, so that a prompt cannot mention @channel or make links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sentiment(ack: Ack, command: dict[str, Any]) -> None:
    text = command.get("text", "").strip()
    if not text:
        _answer(ack, "Usage: `/sentiment <text>`")
        return
    try:
        item = SentimentItem(text=text, topic=ADHOC_SENTIMENT_TOPIC, source="slack")
    except ValidationError as exc:
        _answer(ack, f":warning: {describe(exc)}")
        return
    _start_job(ack, command, _submitter(JobKind.SENTIMENT, SentimentPayload(items=[item])))


def alerts(ack: Ack, command: dict[str, Any]) -> None:
    topic = command.get("text", "").strip() or None
    with new_session() as session:
        page = queries.list_alerts(session, topic=topic, limit=ALERTS_SHOWN)
    where = f" on *{topic}*" if topic else ""
    if not page.items:
        _answer(ack, f"No alerts{where}.")
        return
    lines = [
        f"• #{alert.id} *{alert.topic}* ({alert.status.value}): {alert.metric} {alert.value:.2f} "
        f"vs. baseline {alert.baseline:.2f}, {alert.window_start:%Y-%m-%d %H:%M} UTC"
        for alert in page.items
    ]
    title = f"{len(page.items)} most recent of {page.total} alerts{where}:"
    _answer(ack, title, [section(title), section("\n".join(lines))])


def job_status(ack: Ack, command: dict[str, Any]) -> None:
    job_id = command.get("text", "").strip()
    if not job_id:
        _answer(ack, "Usage: `/job <job id>`")
        return
    with new_session() as session:
        job = queries.get_job(session, job_id)
    if job is None:
        _answer(ack, f"No job `{one_line(job_id, 60)}`.")
        return
    heading = f"Job `{job.id}` ({job.kind.value}): *{job.status.value}*"
    blocks = [section(heading)]
    if job.result is not None:
        blocks.append(section(result_text(job.kind, job.result)))
        blocks.append(context(f"{job.model_name} {job.model_version}"))
    elif job.error:
        blocks.append(section(f":warning: {job.error}"))
    _answer(ack, heading, blocks)


def queuebot(ack: Ack, command: dict[str, Any]) -> None:
    word = command.get("text", "").strip().lower()
    if word not in ("", "help"):
        _answer(ack, f"I do not know `{one_line(word, 40)}`.\n\n{HELP}")
        return
    _answer(ack, HELP)


# Every command the bot answers; the app manifest (bots/slack/manifest.yml) declares the same ones.
COMMANDS: dict[str, Callable[..., None]] = {
    "/ask": ask,
    "/generate": generate,
    "/imagine": imagine,
    "/sentiment": sentiment,
    "/alerts": alerts,
    "/job": job_status,
    "/queuebot": queuebot,
}


def _answer(ack: Ack, text: str, blocks: list[Block] | None = None) -> None:
    # Only the person who typed the command sees the answer; the channel is not spammed.
    ack(text=text, blocks=blocks, response_type="ephemeral")


def _submitter(kind: JobKind, payload: Any) -> Callable[[SlackTarget], Job]:
    def start(target: SlackTarget) -> Job:
        with new_session() as session:
            job, _ = submit_job(session, kind, payload, JobSource.SLACK, slack_target=target)
        return job

    return start


def _start_job(
    ack: Ack,
    command: dict[str, Any],
    start: Callable[[SlackTarget], Job],
    *,
    thread: _Thread | None = None,
    client: WebClient | None = None,
    thread_note: str = "The text is written in the thread.",
) -> None:
    channel, user = command["channel_id"], command["user_id"]
    if thread is None:
        target = SlackTarget(channel=channel, response_url=command.get("response_url"), user_id=user)
    else:
        target = SlackTarget(
            channel=channel, thread_ts=thread.ts, placeholder_ts=thread.placeholder_ts, user_id=user
        )
    try:
        job = start(target)
    except ValidationError as exc:
        _refuse(ack, f":warning: {describe(exc)}", thread, client, channel)
        return
    except QueueUnavailable:
        _refuse(ack, QUEUE_DOWN, thread, client, channel)
        return
    except QueueFull:
        _refuse(ack, QUEUE_FULL, thread, client, channel)
        return
    log.info("%s from %s: job %s", command["command"], user, job.id)
    where = "I will post the result here." if thread is None else thread_note
    _answer(ack, f":hourglass_flowing_sand: Working on it: job `{job.id}`. {where}")


def _refuse(ack: Ack, text: str, thread: _Thread | None, client: WebClient | None, channel: str) -> None:
    _answer(ack, text)
    if thread is not None and client is not None:
        # The thread says it too, rather than keep a placeholder that nothing will replace.
        if thread.placeholder_ts is None:
            client.chat_postMessage(channel=channel, thread_ts=thread.ts, text=text)
        else:
            client.chat_update(channel=channel, ts=thread.placeholder_ts, text=text)
