"""Slack's Web API and response URLs as the workers use them: one post, and what a failure means.

Each attempt either posts, or raises :class:`RetryLater` with how long to wait: the channel's pace
(not counted as a failure), Slack's own rate limit (``Retry-After``), or a transient error (counted by
the caller). Errors that no retry can fix (a channel that does not exist, a revoked token) raise
:class:`PermanentSlackError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

from core.settings import get_settings
from workers.slack.coordination import claim_channel_slot

SLACK_TIMEOUT_S = 10
# Slack API errors worth another try; every other error means the request itself is wrong.
TRANSIENT_SLACK_ERRORS = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}


class RetryLater(Exception):
    def __init__(self, seconds: float, reason: str, *, is_failure: bool = True) -> None:
        super().__init__(reason)
        self.seconds = seconds
        # Waiting for the channel's turn or for Slack's rate limit is not a failed attempt.
        self.is_failure = is_failure


class PermanentSlackError(Exception):
    pass


@lru_cache
def _web_client(token: str, base_url: str) -> WebClient:
    return WebClient(token=token, base_url=base_url, timeout=SLACK_TIMEOUT_S)


def slack_client() -> WebClient:
    settings = get_settings()
    if settings.slack_bot_token is None:
        raise PermanentSlackError("QUEUEBOT_SLACK_BOT_TOKEN is not set")
    return _web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)


@dataclass(frozen=True)
class BotIdentity:
    team_id: str
    user_id: str  # the bot user: the author of every message the bot posts
    bot_id: str | None


def bot_identity() -> BotIdentity:
    """Who the bot is in its workspace (``auth.test``, asked once per process and Web API URL)."""
    return _bot_identity(slack_client())


@lru_cache
def _bot_identity(client: WebClient) -> BotIdentity:
    # One client per token and URL (``_web_client``), so one answer each; a failure is asked again.
    with slack_errors():
        answer = client.auth_test()
    bot_id = answer.get("bot_id")
    return BotIdentity(str(answer["team_id"]), str(answer["user_id"]), bot_id and str(bot_id))


def wait_for_channel(channel: str) -> None:
    wait = claim_channel_slot(channel)
    if wait > 0:
        raise RetryLater(wait, f"channel {channel} posted less than an interval ago", is_failure=False)


def post(
    channel: str,
    thread_ts: str | None,
    placeholder_ts: str | None,
    response_url: str | None,
    text: str,
    blocks: list[dict[str, Any]],
) -> str | None:
    """Post once; returns the message's ts where Slack tells it (not for response URLs)."""
    if response_url is not None:
        return _post_to_response_url(response_url, text, blocks)
    client = slack_client()
    with slack_errors():
        if placeholder_ts is not None:
            response = client.chat_update(channel=channel, ts=placeholder_ts, text=text, blocks=blocks)
        else:
            response = client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
    return str(response["ts"])


@contextmanager
def slack_errors() -> Iterator[None]:
    """A Web API call's failure as what it means: RetryLater (rate limit, Slack or the network down)
    or PermanentSlackError (the request itself is wrong)."""
    try:
        yield
    except SlackApiError as exc:
        raise _classify(exc) from exc
    except OSError as exc:  # connection refused, timeouts, DNS
        raise _unreachable(exc) from exc


def _unreachable(exc: OSError) -> RetryLater:
    return RetryLater(1.0, f"Slack unreachable: {exc}")


def _post_to_response_url(url: str, text: str, blocks: list[dict[str, Any]]) -> None:
    try:
        response = WebhookClient(url, timeout=SLACK_TIMEOUT_S).send(
            text=text, blocks=blocks, response_type="ephemeral", replace_original=False
        )
    except OSError as exc:
        raise _unreachable(exc) from exc
    if response.status_code == 429:
        raise RetryLater(_retry_after(response.headers), "ratelimited", is_failure=False)
    if response.status_code >= 500:
        raise RetryLater(1.0, f"response URL answered {response.status_code}")
    if response.status_code != 200:
        # 404: the URL expired (they live 30 minutes) or was used up (5 posts).
        raise PermanentSlackError(f"response URL answered {response.status_code}: {response.body}")
    return None


def _classify(exc: SlackApiError) -> Exception:
    error = str(exc.response.get("error", ""))
    if exc.response.status_code == 429 or error == "ratelimited":
        return RetryLater(_retry_after(exc.response.headers), "ratelimited", is_failure=False)
    if exc.response.status_code >= 500 or error in TRANSIENT_SLACK_ERRORS:
        return RetryLater(1.0, f"Slack error {exc.response.status_code} {error}")
    return PermanentSlackError(f"Slack refused the post: {error or exc.response.status_code}")


def _retry_after(headers: Any) -> float:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            values = value if isinstance(value, list) else [value]
            try:
                return max(float(values[0]), 0.1)
            except (TypeError, ValueError):
                break
    return 1.0
