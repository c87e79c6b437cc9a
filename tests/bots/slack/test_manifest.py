"""The app manifest a user pastes into api.slack.com asks for exactly what the bot handles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

import bots.slack
from bots.slack.listeners.commands import COMMANDS

MANIFEST = Path(bots.slack.__file__).parent / "manifest.yml"


def _manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text())


def test_manifest_declares_every_slash_command_the_bot_answers() -> None:
    declared = {command["command"] for command in _manifest()["features"]["slash_commands"]}

    assert declared == set(COMMANDS)


def test_manifest_subscribes_to_the_events_and_scopes_the_listeners_need() -> None:
    manifest = _manifest()

    assert {
        "app_mention",
        "message.im",
        "message.channels",
        "assistant_thread_started",
        "assistant_thread_context_changed",
    } <= set(manifest["settings"]["event_subscriptions"]["bot_events"])
    needed = {
        "app_mentions:read",
        "assistant:write",
        "chat:write",
        "files:write",
        "commands",
        "im:history",
        "channels:history",
    }
    assert needed <= set(manifest["oauth_config"]["scopes"]["bot"])
    # The assistant surface is a feature of the app, turned on by this section.
    assert manifest["features"]["assistant_view"]["assistant_description"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
