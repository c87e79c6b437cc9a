"""The related-article buttons under a reply in Slack: built by the workers that post the reply,
answered by the bot's action listener (bots/slack/listeners/recommendations.py).

A button's value names the impression and the article, so a click is logged against what was shown.
"""

from __future__ import annotations

import re
from typing import Any

Block = dict[str, Any]

# One action id per position (ids must differ within a block); the listener matches them all.
RECOMMENDATION_ACTION_PREFIX = "recommendation_open_"
RECOMMENDATION_ACTION = re.compile(rf"^{RECOMMENDATION_ACTION_PREFIX}\d+$")
# Slack refuses button text over 75 characters.
BUTTON_TEXT_LIMIT = 75


def recommendation_buttons(result: dict[str, Any]) -> Block | None:
    """An actions block with one button per suggested article, best first; None when there are none."""
    shown = result.get("recommendations") or {}
    items = shown.get("items") or []
    if not items:
        return None
    return {
        "type": "actions",
        "block_id": f"recommendations:{shown['impression_id']}",
        "elements": [
            {
                "type": "button",
                "action_id": f"{RECOMMENDATION_ACTION_PREFIX}{item['position']}",
                "text": {"type": "plain_text", "text": _button_text(str(item["title"]))},
                "value": click_value(str(shown["impression_id"]), int(item["entry_id"])),
            }
            for item in items
        ],
    }


def click_value(impression_id: str, entry_id: int) -> str:
    return f"{impression_id}:{entry_id}"


def parse_click_value(value: str) -> tuple[str, int]:
    """(impression id, entry id); ValueError for anything else."""
    impression_id, _, entry = value.rpartition(":")
    if not impression_id or not entry.isdigit():
        raise ValueError(f"not a recommendation button value: {value!r}")
    return impression_id, int(entry)


def _button_text(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= BUTTON_TEXT_LIMIT else title[: BUTTON_TEXT_LIMIT - 1] + "…"
