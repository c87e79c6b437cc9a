"""Buttons: 👍 / 👎 on every bot answer, Acknowledge on alerts, Hand back to the bot on handoff notices."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, Respond

from bots.conversations import UnknownConversation, resume_conversation
from bots.feedback import UnknownJob, record_feedback
from core.jobs import JobSource
from core.slack import (
    ALERT_ACKNOWLEDGE_ACTION,
    FEEDBACK_DOWN_ACTION,
    FEEDBACK_UP_ACTION,
    HANDOFF_RESUME_ACTION,
    Block,
    context,
)
from db.engine import session_scope
from db.models import Alert, AlertStatus, Rating

log = logging.getLogger(__name__)

RATINGS = {FEEDBACK_UP_ACTION: Rating.UP, FEEDBACK_DOWN_ACTION: Rating.DOWN}


def register(app: Any) -> None:
    app.action(FEEDBACK_UP_ACTION)(rate_answer)
    app.action(FEEDBACK_DOWN_ACTION)(rate_answer)
    app.action(ALERT_ACKNOWLEDGE_ACTION)(acknowledge_alert)
    app.action(HANDOFF_RESUME_ACTION)(hand_back_to_bot)


def rate_answer(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond) -> None:
    ack()
    rating = RATINGS[action["action_id"]]
    try:
        record_feedback(action["value"], rating, JobSource.SLACK, body["user"]["id"])
    except UnknownJob as exc:
        respond(text=f":warning: {exc}", response_type="ephemeral", replace_original=False)
        return
    thanks = "Thanks, noted :+1:" if rating is Rating.UP else "Thanks, noted: we will do better :-1:"
    respond(text=thanks, response_type="ephemeral", replace_original=False)


def acknowledge_alert(ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond) -> None:
    ack()
    user = body["user"]["id"]
    with session_scope() as session:
        alert = session.get(Alert, int(action["value"]))
        if alert is None:
            respond(text=f"Alert {action['value']} no longer exists.", replace_original=False)
            return
        if alert.status is AlertStatus.OPEN:
            alert.status = AlertStatus.ACKNOWLEDGED
        status = alert.status.value
    # Keep the alert's text and evidence; the button gives way to who acknowledged it.
    _replace_buttons(body, respond, context(f":white_check_mark: {status} by <@{user}>"))
    log.info("alert %s %s by %s", action["value"], status, user)


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


def _replace_buttons(body: dict[str, Any], respond: Respond, note: Block) -> None:
    """Rewrite the clicked message without its buttons, ``note`` saying who clicked in their place."""
    blocks = [block for block in body["message"]["blocks"] if block["type"] != "actions"]
    blocks.append(note)
    respond(text=body["message"].get("text", ""), blocks=blocks, replace_original=True)
