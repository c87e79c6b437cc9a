"""Periodic reports posted to the reports channel, once each."""

from __future__ import annotations

import logging

from sqlalchemy import update

from core.settings import get_settings
from db.engine import session_scope
from db.models import Report
from workers.slack.client import post, wait_for_channel
from workers.slack.messages import report_message

log = logging.getLogger(__name__)


def post_report(report_id: int) -> None:
    """Post a periodic report to the reports channel, once (a redelivered task sees its ts)."""
    channel = get_settings().slack_reports_channel
    if channel is None:
        log.info("report %d: no Slack reports channel configured; not posted", report_id)
        return
    with session_scope() as session:
        report = session.get(Report, report_id)
        if report is None:
            raise LookupError(f"report {report_id} does not exist")
        if report.slack_message_ts is not None:
            return
        text, blocks = report_message(report)
    wait_for_channel(channel)
    ts = post(channel, None, None, None, text, blocks)
    with session_scope() as session:
        session.execute(
            update(Report)
            .where(Report.id == report_id, Report.slack_message_ts.is_(None))
            .values(slack_message_ts=ts)
        )
    log.info("report %d posted to %s", report_id, channel)
