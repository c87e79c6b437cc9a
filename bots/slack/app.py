"""The bolt app factory. Both ways in (Socket Mode and HTTP events) serve the app it builds."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk.web import WebClient

from bots.slack.listeners import register_listeners
from core.settings import Settings

log = logging.getLogger(__name__)


def create_slack_app(settings: Settings, client: WebClient | None = None) -> App:
    """Build the bot; ``client`` replaces the Web API client (tests pass one aimed at a local fake).

    bolt calls ``auth.test`` here, so a bad token fails at start-up rather than at the first event.
    """
    if settings.slack_bot_token is None:
        raise ValueError("the Slack bot needs QUEUEBOT_SLACK_BOT_TOKEN")
    token = settings.slack_bot_token.get_secret_value()
    app = App(
        token=token,
        client=client or WebClient(token=token, base_url=settings.slack_api_url),
        signing_secret=(
            settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
        ),
        # Acknowledge first and run the listener after: Slack retries anything not acked in 3 s.
        process_before_response=False,
        ignoring_self_events_enabled=True,
    )
    register_listeners(app, settings)
    return app
