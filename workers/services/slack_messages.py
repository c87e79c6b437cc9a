"""Block Kit messages the workers post: a finished job's answer, and a sentiment alert.

The model and version appear only in a context block (small grey text), never in the answer itself.
"""

from __future__ import annotations

from core.jobs import JobStatus
from core.slack import (
    ALERT_ACKNOWLEDGE_ACTION,
    Block,
    context,
    feedback_buttons,
    one_line,
    result_text,
    section,
)
from db.models import Alert, Conversation, Job

EVIDENCE_SHOWN = 3


def job_message(job: Job) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for a finished job."""
    if job.status is JobStatus.FAILED:
        text = f":warning: Sorry, I could not finish this: {job.error or 'unknown error'}"
        return text, [section(text), context(f"job `{job.id}`")]
    if job.status is not JobStatus.DONE or job.result is None:
        raise ValueError(f"job {job.id} is {job.status.value}; only finished jobs are posted")
    text = result_text(job.kind, job.result)
    provenance = f"{job.model_name} {job.model_version} · job `{job.id}`"
    return text, [section(text), context(provenance), feedback_buttons(job.id)]


def alert_message(alert: Alert) -> tuple[str, list[Block]]:
    text = (
        f":rotating_light: Negative sentiment spike on *{alert.topic}*: {alert.metric} "
        f"{alert.value:.2f} against a baseline of {alert.baseline:.2f}"
    )
    window = f"{alert.window_start:%Y-%m-%d %H:%M} to {alert.window_end:%H:%M} UTC"
    blocks = [section(text), context(f"window {window} · alert #{alert.id}")]
    evidence = [str(item.get("text", "")) for item in alert.evidence[:EVIDENCE_SHOWN]]
    if evidence:
        blocks.append(section("\n".join(f"> {one_line(quote)}" for quote in evidence)))
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": ALERT_ACKNOWLEDGE_ACTION,
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "style": "primary",
                    "value": str(alert.id),
                }
            ],
        }
    )
    return text, blocks


def handoff_message(conversation: Conversation, last_message: str) -> tuple[str, list[Block]]:
    where = f"{conversation.source.value} conversation #{conversation.id}"
    if conversation.external_id:
        where += f" ({conversation.external_id})"
    text = f":raising_hand: A customer is waiting for a person: {where}"
    return text, [section(text), section(f"> {one_line(last_message)}")]
