"""What the Slack bot and the workers that post to Slack share: where a result goes, the ids of
the buttons workers put on messages and the bot answers, and how a job's result reads in Slack.

Everything here works on plain values, so both the bot and the workers can use it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from core.jobs import JobKind

# 👍 / 👎 as two buttons in an actions block, on answers posted to a response URL (ephemeral messages):
# Slack documents its feedback_buttons element for messages the app posts, not for those.
FEEDBACK_UP_ACTION = "feedback_up"
FEEDBACK_DOWN_ACTION = "feedback_down"
# 👍 / 👎 as Slack's feedback_buttons element (in a context_actions block), on answers the bot posts in
# threads; the clicked button's value is "up:<job id>" or "down:<job id>".
FEEDBACK_ACTION = "answer_feedback"
ALERT_ACKNOWLEDGE_ACTION = "alert_acknowledge"
ALERT_RESOLVE_ACTION = "alert_resolve"
# On a handoff notice: the conversation goes back to the bot (the button's value is its id).
HANDOFF_RESUME_ACTION = "handoff_resume"
# Slack refuses section text over 3,000 characters.
SECTION_TEXT_LIMIT = 3_000

Block = dict[str, Any]


class SlackTarget(BaseModel):
    """Where a job's result is posted when it is done."""

    model_config = ConfigDict(frozen=True)

    channel: str
    thread_ts: str | None = None  # reply in this thread
    placeholder_ts: str | None = None  # "working on it" message to replace with the result
    response_url: str | None = None  # a slash command's reply address (used instead of the channel)
    user_id: str | None = None  # who asked


def result_text(kind: JobKind, result: dict[str, Any]) -> str:
    """A finished job's result as Slack text."""
    if kind is JobKind.REPLY:
        return str(result["reply"])
    if kind is JobKind.GENERATE:
        texts = [str(text) for text in result["texts"]]
        text = (
            texts[0]
            if len(texts) == 1
            else "\n\n".join(f"*{number}.* {text}" for number, text in enumerate(texts, start=1))
        )
        return text + _prompt_cut_note(int(result.get("prompt_tokens_dropped", 0)))
    if kind is JobKind.IMAGE:
        count = int(result["count"])
        drawn = "a handwritten" if count == 1 else f"{count} handwritten"
        plural = "" if count == 1 else "s"
        return f"{drawn} *{result['digit']}*{plural} (seed {result['seed']})"
    lines = []
    for item in result["items"]:
        scores = ", ".join(f"{label} {p:.2f}" for label, p in item["scores"].items())
        lines.append(f"*{item['label']}* ({scores})")
    return "\n".join(lines)


def _prompt_cut_note(dropped: int) -> str:
    if not dropped:
        return ""
    return f"\n_The prompt was longer than the model's context: its first {dropped} tokens were left out._"


def section(text: str) -> Block:
    if len(text) > SECTION_TEXT_LIMIT:
        text = text[: SECTION_TEXT_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text or " "}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def feedback_buttons(job_id: str) -> Block:
    return {
        "type": "actions",
        "block_id": f"feedback:{job_id}",
        "elements": [
            {
                "type": "button",
                "action_id": action,
                "text": {"type": "plain_text", "text": emoji, "emoji": True},
                "value": job_id,
            }
            for action, emoji in ((FEEDBACK_UP_ACTION, ":+1:"), (FEEDBACK_DOWN_ACTION, ":-1:"))
        ],
    }


def feedback_context_actions(job_id: str) -> Block:
    """Slack's feedback buttons under an answer: the same votes as :func:`feedback_buttons`."""

    def button(rating: str, emoji: str, label: str) -> dict[str, Any]:
        return {
            "text": {"type": "plain_text", "text": emoji},
            "value": f"{rating}:{job_id}",
            "accessibility_label": label,
        }

    return {
        "type": "context_actions",
        "block_id": f"feedback:{job_id}",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK_ACTION,
                "positive_button": button("up", "👍", "Helpful"),
                "negative_button": button("down", "👎", "Not helpful"),
            }
        ],
    }


def feedback_vote(value: str) -> tuple[str, str]:
    """(``"up"`` or ``"down"``, job id) from a feedback button's value; ValueError when it is neither."""
    rating, _, job_id = value.partition(":")
    if rating not in ("up", "down") or not job_id:
        raise ValueError(f"not a feedback value: {value!r}")
    return rating, job_id


def alert_buttons(alert_id: int, status: str) -> Block | None:
    """The buttons an alert in ``status`` offers: Acknowledge and Resolve while open, Resolve once
    acknowledged, none once resolved (bots/alerts.py has the rules)."""
    buttons = []
    if status == "open":
        buttons.append((ALERT_ACKNOWLEDGE_ACTION, "Acknowledge", "primary"))
    if status in ("open", "acknowledged"):
        buttons.append((ALERT_RESOLVE_ACTION, "Resolve", None))
    if not buttons:
        return None
    return {
        "type": "actions",
        "block_id": f"alert:{alert_id}",
        "elements": [
            {
                "type": "button",
                "action_id": action,
                "text": {"type": "plain_text", "text": label},
                "value": str(alert_id),
                **({"style": style} if style else {}),
            }
            for action, label, style in buttons
        ],
    }


def conversation_path(conversation_id: int) -> str:
    """The API path of a conversation (bots/web/routers/conversations.py), for messages that name it."""
    return f"/api/conversations/{conversation_id}"


def conversation_resume_path(conversation_id: int) -> str:
    """The API path that hands a conversation back to the bot after a handoff."""
    return f"{conversation_path(conversation_id)}/resume"


def one_line(text: str, limit: int = 280) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
