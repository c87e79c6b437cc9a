"""Spike alerts posted to the alerts channel, each with its trend chart in the message's thread.

Each step is stored once done (the message's ts, the chart's file id), so a retry posts neither twice.
"""

from __future__ import annotations

import logging

from sqlalchemy import update

from core.settings import get_settings
from db.engine import session_scope
from db.models import Alert, AlertChart
from workers.slack.client import post, slack_client, slack_errors, wait_for_channel
from workers.slack.messages import alert_message

log = logging.getLogger(__name__)


def post_alert(alert_id: int) -> None:
    """The alert's message, then its trend chart uploaded into the message's thread. Each step is
    stored once done, so a retry after a failed upload posts the message no second time."""
    settings = get_settings()
    channel = settings.slack_alerts_channel
    if channel is None:
        log.info("alert %d: no Slack alerts channel configured; not posted", alert_id)
        return
    with session_scope() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise LookupError(f"alert {alert_id} does not exist")
        ts = alert.slack_message_ts
        chart_uploaded = alert.slack_chart_file_id is not None
        text, blocks = alert_message(alert)
    if ts is None:
        wait_for_channel(channel)
        ts = post(channel, None, None, None, text, blocks)
        with session_scope() as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.slack_message_ts.is_(None))
                .values(slack_message_ts=ts)
            )
        log.info("alert %d posted to %s", alert_id, channel)
    if not chart_uploaded and ts is not None:
        _upload_chart(alert_id, channel, ts)


def _upload_chart(alert_id: int, channel: str, thread_ts: str) -> None:
    with session_scope() as session:
        chart = session.get(AlertChart, alert_id)
        png = None if chart is None else chart.png
    if png is None:
        log.warning("alert %d has no chart to upload", alert_id)
        return
    wait_for_channel(channel)
    with slack_errors():
        response = slack_client().files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            content=png,
            filename=f"alert-{alert_id}.png",
            title=f"Trend behind alert #{alert_id}",
            alt_txt=f"Trend chart of alert #{alert_id}: the spiking bucket against its baseline",
        )
    file_id = str(response["file"]["id"])
    with session_scope() as session:
        session.execute(update(Alert).where(Alert.id == alert_id).values(slack_chart_file_id=file_id))
    log.info("alert %d: chart %s uploaded to its thread in %s", alert_id, file_id, channel)
