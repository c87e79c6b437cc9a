"""Buttons: 👍 / 👎 on every bot answer (Slack's feedback buttons on answers in threads, two plain
buttons on ephemeral ones), Acknowledge and Resolve on alerts, Hand back to the bot on handoff notices."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, Respond

from bots.alerts import UnknownAlert, change_alert_status
from bots.conversations import UnknownConversation, resume_conversation
from bots.feedback import UnknownJob, record_feedback
from core.jobs import JobSource
from core.slack import (
    ALERT_ACKNOWLEDGE_ACTION,
    ALERT_RESOLVE_ACTION,
    FEEDBACK_ACTION,
    FEEDBACK_DOWN_ACTION,
    FEEDBACK_UP_ACTION,
    HANDOFF_RESUME_ACTION,
    Block,
    alert_buttons,
    context,
    feedback_vote,
)
from db.models import AlertStatus, Rating

log = logging.getLogger(__name__)

RATINGS = {FEEDBACK_UP_ACTION: Rating.UP, FEEDBACK_DOWN_ACTION: Rating.DOWN}


def register(app: Any) -> None:
    app.action(FEEDBACK_ACTION)(rate_answer_with_feedback_buttons)
    app.action(FEEDBACK_UP_ACTION)(rate_answer)
    app.action(FEEDBACK_DOWN_ACTION)(rate_answer)
    app.action(ALERT_ACKNOWLEDGE_ACTION)(acknowledge_alert)
    app.action(ALERT_RESOLVE_ACTION)(resolve_alert)
    app.action(HANDOFF_RESUME_ACTION)(hand_back_to_bot)


def rate_answer_with_feedback_buttons(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond
) -> None:
    ack()
    try:
        rating, job_id = feedback_vote(action.get("value", ""))
    except ValueError:
        log.warning("feedback click with an unknown value %r ignored", action.get("value"))
        return
    _record_vote(job_id, Rating(rating), body, respond)


def rate_answer(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond) -> None:
    ack()
    _record_vote(action["value"], RATINGS[action["action_id"]], body, respond)


def _record_vote(job_id: str, rating: Rating, body: dict[str, Any], respond: Respond) -> None:
    """One vote per person per answer, stored as the web's votes are (bots/feedback.py)."""
    try:
        record_feedback(job_id, rating, JobSource.SLACK, body["user"]["id"])
    except UnknownJob as exc:
        respond(text=f":warning: {exc}", response_type="ephemeral", replace_original=False)
        return
    thanks = "Thanks, noted :+1:" if rating is Rating.UP else "Thanks, noted: we will do better :-1:"
    respond(text=thanks, response_type="ephemeral", replace_original=False)


def acknowledge_alert(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond) -> None:
    ack()
    _move_alert(AlertStatus.ACKNOWLEDGED, action, body, respond)


def resolve_alert(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond) -> None:
    ack()
    _move_alert(AlertStatus.RESOLVED, action, body, respond)


def _move_alert(to: AlertStatus, action: dict[str, Any], body: dict[str, Any], respond: Respond) -> None:
    user = body["user"]["id"]
    try:
        change = change_alert_status(_alert_id(action["value"]), to, by=f"slack user {user}")
    except UnknownAlert:
        respond(
            text=f":warning: Alert {action['value']} no longer exists.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    # Keep the alert's text and evidence; the buttons become those its new status still offers,
    # with who moved it (or, when the click changed nothing, where the alert already is).
    if change.changed:
        icon = ":white_check_mark:" if to is AlertStatus.RESOLVED else ":eyes:"
        note = f"{icon} {change.status.value} by <@{user}>"
    else:
        note = f"already {change.status.value}; <@{user}>'s click changed nothing"
    _replace_buttons(body, respond, context(note), alert_buttons(change.alert_id, change.status.value))


def _alert_id(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise UnknownAlert(f"alert {value!r} does not exist") from None


def hand_back_to_bot(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond) -> None:
    ack()
    user = body["user"]["id"]
    try:
        resumed = resume_conversation(_conversation_id(action["value"]), by=f"slack user {user}")
    except UnknownConversation:
        respond(
            text=f":warning: Conversation {action['value']} does not exist (any more); nothing to hand back.",
            response_type="ephemeral",
            replace_original=False,
        )
        return
    # Someone may have resumed it already (through the API, or from another copy of the notice).
    done = "handed back to the bot" if resumed.changed else "already back with the bot; button cleared"
    _replace_buttons(body, respond, context(f":robot_face: {done} by <@{user}>"))


def _conversation_id(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise UnknownConversation(f"conversation {value!r} does not exist") from None


def _replace_buttons(
    body: dict[str, Any], respond: Respond, note: Block, buttons: Block | None = None
) -> None:
    """Rewrite the clicked message with ``buttons`` (or none) in place of its buttons, and ``note``
    saying who clicked. Notes of earlier clicks stay, so the message keeps its history."""
    blocks = [block for block in body["message"]["blocks"] if block["type"] != "actions"]
    blocks.append(note)
    if buttons is not None:
        blocks.append(buttons)
    respond(text=body["message"].get("text", ""), blocks=blocks, replace_original=True)
