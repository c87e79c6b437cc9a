"""Block Kit messages the workers post: a finished job's answer, a sentiment alert, a periodic report,
a handoff notice.

The model and version appear only in a context block (small grey text), never in the answer itself.
"""

from __future__ import annotations

from typing import Any

from core.jobs import JobKind, JobSource, JobStatus
from core.slack import (
    HANDOFF_RESUME_ACTION,
    Block,
    alert_buttons,
    context,
    conversation_path,
    conversation_resume_path,
    feedback_buttons,
    feedback_context_actions,
    one_line,
    result_text,
    section,
)
from core.slack_recommendations import recommendation_buttons
from db.models import Alert, Conversation, Job, Report

EVIDENCE_SHOWN = 3


def job_message(job: Job, *, ephemeral: bool = False) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for a finished job. The votes are Slack's feedback buttons, or, in an
    ``ephemeral`` message (a response URL's), the two buttons of an actions block."""
    if job.status is JobStatus.FAILED:
        text = f":warning: Sorry, I could not finish this: {job.error or 'unknown error'}"
        return text, [section(text), context(f"job `{job.id}`")]
    if job.status is not JobStatus.DONE or job.result is None:
        raise ValueError(f"job {job.id} is {job.status.value}; only finished jobs are posted")
    text = result_text(job.kind, job.result)
    provenance = f"{job.model_name} {job.model_version} · job `{job.id}`"
    if job.kind is JobKind.REPLY:
        provenance = f"{_reply_origin(job.result)} · {provenance}"
    votes = feedback_buttons(job.id) if ephemeral else feedback_context_actions(job.id)
    blocks = [section(text), context(provenance), votes]
    articles = recommendation_buttons(job.result) if job.kind is JobKind.REPLY else None
    if articles is not None:
        blocks += [context("Related articles:"), articles]
    return text, blocks


def _reply_origin(result: dict[str, Any]) -> str:
    """How a reply was made, so a reader can weigh it: approved, or written by GPT-2 from what."""
    path = result.get("path")
    if path == "template":
        return f"approved answer ({result.get('intent')})"
    if path == "generation":
        sources = "; ".join(
            f"“{one_line(str(source['question']))}” ({source['score']:.2f})"
            for source in result.get("sources", [])
        )
        return f"written by GPT-2 from the approved answers to: {sources}"
    if path == "handoff":
        return "handed over to a person"
    return "answer"  # a reply stored before the paths had these names


def _quoted(item: dict[str, Any]) -> str:
    """An evidence item as a quote; one on its topic by the topic model's word says so, and how sure
    (a reader weighs a spike on a predicted topic by how well the model knows it)."""
    quote = f"> {one_line(str(item.get('text', '')))}"
    if item.get("topic_source") == "predicted":
        confidence = item.get("topic_confidence")
        quote += " _(topic predicted" + (f", {confidence:.2f}" if confidence is not None else "") + ")_"
    return quote


def alert_message(alert: Alert) -> tuple[str, list[Block]]:
    text = (
        f":rotating_light: Negative sentiment spike on *{alert.topic}*: {alert.metric} "
        f"{alert.value:.2f} against a baseline of {alert.baseline:.2f}"
    )
    window = f"{alert.window_start:%Y-%m-%d %H:%M} to {alert.window_end:%H:%M} UTC"
    blocks = [section(text), context(f"window {window} · alert #{alert.id}")]
    evidence = [_quoted(item) for item in alert.evidence[:EVIDENCE_SHOWN]]
    if evidence:
        blocks.append(section("\n".join(evidence)))
    buttons = alert_buttons(alert.id, alert.status.value)
    if buttons is not None:
        blocks.append(buttons)
    return text, blocks


def report_message(report: Report) -> tuple[str, list[Block]]:
    """A periodic report: its summary, the figures at a glance, the most negative items."""
    period = f"{report.period_start:%Y-%m-%d %H:%M} to {report.period_end:%Y-%m-%d %H:%M} UTC"
    text = f":bar_chart: Report on *{report.topic}*, {period}"
    blocks = [section(text), section(report.summary)]
    quotes = [_quoted(item) for item in report.top_negative[:EVIDENCE_SHOWN]]
    if quotes:
        blocks.append(section("Most negative:\n" + "\n".join(quotes)))
    blocks.append(context(f"report #{report.id} · {report.volume} items · /api/reports/{report.id}"))
    return text, blocks


def handoff_message(
    conversation: Conversation, last_message: str, permalink: str | None = None
) -> tuple[str, list[Block]]:
    """The alerts channel's notice: who waits, their last message, where to find them, and a button
    that hands the conversation back to the bot (bots/slack/listeners/actions.py)."""
    where = f"{conversation.source.value} conversation #{conversation.id}"
    if conversation.external_id:
        where += f" ({conversation.external_id})"
    text = f":raising_hand: A customer is waiting for a person: {where}"
    blocks = [section(text), section(f"> {one_line(last_message)}")]
    if permalink is not None:
        blocks.append(context(f"<{permalink}|Open the customer's Slack thread>"))
    elif conversation.source is not JobSource.SLACK:
        # No thread to link to: say how to find the conversation and end the handoff from outside Slack.
        blocks.append(
            context(
                f"conversation #{conversation.id} · read it with `GET {conversation_path(conversation.id)}`"
                f" · hand it back with `POST {conversation_resume_path(conversation.id)}`"
            )
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": HANDOFF_RESUME_ACTION,
                    "text": {"type": "plain_text", "text": "Hand back to the bot"},
                    "value": str(conversation.id),
                }
            ],
        }
    )
    return text, blocks
