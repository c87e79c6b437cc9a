"""The related-article buttons under a reply: a click is logged with the Slack user who clicked,
and the article is shown to them (an ephemeral message in the thread)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, Respond

from bots.recommendations import UnknownImpression, record_click
from core.jobs import JobSource
from core.slack import context, one_line, section
from core.slack_recommendations import RECOMMENDATION_ACTION, parse_click_value

log = logging.getLogger(__name__)


def register(app: Any) -> None:
    app.action(RECOMMENDATION_ACTION)(open_recommended_article)


def open_recommended_article(
    ack: Ack, action: dict[str, Any], body: dict[str, Any], respond: Respond
) -> None:
    ack()
    try:
        impression_id, entry_id = parse_click_value(action.get("value", ""))
        logged = record_click(impression_id, entry_id, JobSource.SLACK, body["user"]["id"])
    except (ValueError, UnknownImpression) as exc:
        # NotShown is a ValueError too: a button Slack sent us that we never made.
        log.warning("recommendation click not logged: %s", exc)
        text = f":warning: This suggestion can no longer be opened ({exc})."
        respond(text=text, response_type="ephemeral", replace_original=False)
        return
    article = logged.article
    body_text = article.text if article.text is not None else "_This article has been removed since._"
    text = f"*{one_line(article.title)}*\n{body_text}"
    respond(
        text=text,
        blocks=[
            section(text),
            context(f"suggested article #{article.entry_id} · position {logged.position}"),
        ],
        response_type="ephemeral",
        replace_original=False,
    )
