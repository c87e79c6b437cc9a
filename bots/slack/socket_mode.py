"""Socket Mode: the bot opens a WebSocket to Slack, so it needs no public URL (`queuebot slack`)."""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bots.slack.app import create_slack_app
from core.settings import Settings

log = logging.getLogger(__name__)


def socket_mode_handler(settings: Settings) -> SocketModeHandler:
    if settings.slack_app_token is None:
        raise ValueError("Socket Mode needs QUEUEBOT_SLACK_APP_TOKEN (an xapp-... app-level token)")
    app = create_slack_app(settings)
    # The handler's own Web API client opens the socket (apps.connections.open), so it must use the
    # same API address as the app's client.
    return SocketModeHandler(app, settings.slack_app_token.get_secret_value(), web_client=app.client)


def serve_socket_mode(settings: Settings) -> None:
    """Connect and handle events until the process is stopped."""
    handler = socket_mode_handler(settings)
    log.info("Slack bot connected over Socket Mode")
    handler.start()
