"""Requests as Slack sends them to /slack/events: events (JSON), slash commands and button clicks
(form-encoded), each signed with the app's signing secret over the exact raw body."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.support.slack_fake import BOT_USER_ID, TEAM_ID, FakeSlack, new_ts


def command_via_fake(
    sender: SlackSender,
    fake: FakeSlack,
    command: str,
    text: str,
    *,
    channel: str,
    user: str = "UALICE",
    url_name: str | None = None,
) -> tuple[httpx.Response, str]:
    """A slash command whose response URL is the fake Slack's, under ``url_name`` (a fresh one by
    default). Returns Slack's acknowledgement and that name: what the bot posts to the response URL
    is ``fake.wait_for(f"response:{url_name}")``."""
    url_name = url_name or uuid.uuid4().hex
    response = sender.command(
        command, text, channel=channel, user=user, response_url=fake.response_url(url_name)
    )
    return response, url_name


def signature(secret: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


class SlackSender:
    def __init__(self, client: httpx.Client, signing_secret: str) -> None:
        self.client = client
        self.signing_secret = signing_secret

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: str | None = None,
        signature_override: str | None = None,
        retry_num: int | None = None,
    ) -> httpx.Response:
        timestamp = timestamp or str(int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature_override or signature(self.signing_secret, timestamp, body),
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return self.client.post("/slack/events", content=body.encode(), headers=headers)

    def event(self, event: dict[str, Any], *, event_id: str | None = None, **options: Any) -> httpx.Response:
        return self.post(json.dumps(event_envelope(event, event_id)), "application/json", **options)

    def command(
        self, command: str, text: str, *, channel: str, user: str, response_url: str
    ) -> httpx.Response:
        form = {
            "token": "unused",
            "team_id": TEAM_ID,
            "channel_id": channel,
            "user_id": user,
            "command": command,
            "text": text,
            "response_url": response_url,
            "trigger_id": uuid.uuid4().hex,
            "api_app_id": "AQUEUEBOT",
        }
        return self.post(urlencode(form), "application/x-www-form-urlencoded")

    def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str,
        channel: str,
        response_url: str,
        message: dict[str, Any] | None = None,
        action_type: str = "button",
    ) -> httpx.Response:
        """A click on an element: a button, or another interactive element (``action_type``) such as
        one of Slack's feedback buttons, whose ``value`` is the value of the button clicked."""
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": user},
            "api_app_id": "AQUEUEBOT",
            "container": {"type": "message", "channel_id": channel},
            "channel": {"id": channel},
            "message": message or {"type": "message", "text": "", "blocks": []},
            "response_url": response_url,
            "trigger_id": uuid.uuid4().hex,
            "actions": [{"type": action_type, "action_id": action_id, "block_id": "b", "value": value}],
        }
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


def event_envelope(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "unused",
        "team_id": TEAM_ID,
        "api_app_id": "AQUEUEBOT",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }


def mention(channel: str, user: str, text: str, *, thread_ts: str | None = None) -> dict[str, Any]:
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": new_ts(),
        "channel": channel,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def channel_message(channel: str, user: str, text: str, *, channel_type: str = "channel") -> dict[str, Any]:
    return {
        "type": "message",
        "user": user,
        "text": text,
        "ts": new_ts(),
        "channel": channel,
        "channel_type": channel_type,
    }


def assistant_thread_started(channel: str, user: str, *, thread_ts: str | None = None) -> dict[str, Any]:
    """A person opened a new thread in the bot's assistant panel (in their DM channel with the bot)."""
    return {
        "type": "assistant_thread_started",
        "assistant_thread": {
            "user_id": user,
            "context": {"channel_id": "CELSEWHERE", "team_id": TEAM_ID, "enterprise_id": None},
            "channel_id": channel,
            "thread_ts": thread_ts or new_ts(),
        },
        "event_ts": new_ts(),
    }


def assistant_message(channel: str, user: str, text: str, *, thread_ts: str) -> dict[str, Any]:
    """A person's message in an assistant thread: a direct message in the thread."""
    return channel_message(channel, user, text, channel_type="im") | {"thread_ts": thread_ts}
