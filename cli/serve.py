"""The product's long-running parts that are not the web app or a worker: the Socket Mode bot, and the
database migration that runs before them."""

from __future__ import annotations

import logging

from sqlalchemy.engine import make_url

from core.settings import get_settings

log = logging.getLogger("queuebot")


def slack() -> None:
    """Run the Slack bot over Socket Mode (needs QUEUEBOT_SLACK_BOT_TOKEN and QUEUEBOT_SLACK_APP_TOKEN)."""
    from bots.slack.socket_mode import serve_socket_mode

    serve_socket_mode(get_settings())


def migrate() -> None:
    """Apply database migrations up to the newest."""
    from db.migrate import upgrade_to_head

    url = get_settings().sqlalchemy_url
    upgrade_to_head(url)
    log.info("database at %s is up to date", make_url(url).render_as_string(hide_password=True))
