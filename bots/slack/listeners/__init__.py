"""Every listener of the bot, registered by one function.

Order matters: bolt runs the first listener whose event type and matchers fit, so the specific
``message`` listeners come before the catch-all ones. The assistant surface's events go to bolt's
``Assistant`` middleware, which runs before any listener.
"""

from __future__ import annotations

from slack_bolt import App

from bots.slack.listeners import actions, assistant, chat, commands, fallback, monitoring
from bots.slack.listeners import recommendations as recommendation_buttons
from core.settings import Settings


def register_listeners(app: App, settings: Settings) -> None:
    assistant.register(app)
    chat.register(app)
    monitoring.register(app, settings)
    commands.register(app)
    actions.register(app)
    recommendation_buttons.register(app)
    fallback.register(app)
