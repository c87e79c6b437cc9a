"""Waiting on a job's Slack delivery row: the worker commits it as sent only after Slack has
answered, so a test that has seen the call in the fake Slack must still wait for the row."""

from __future__ import annotations

from sqlalchemy import select

from db.engine import session_scope
from db.models import DeliveryStatus, SlackDelivery
from tests.support.waiting import wait_for


def sent_delivery(job_id: str) -> SlackDelivery:
    """The job's delivery once it is stored as sent; fails naming the job when it never is."""

    def delivery() -> SlackDelivery | None:
        with session_scope() as session:
            return session.scalars(select(SlackDelivery).where(SlackDelivery.job_id == job_id)).one_or_none()

    return wait_for(
        delivery,
        f"job {job_id}'s Slack delivery stored as sent",
        until=lambda d: d is not None and d.status is DeliveryStatus.SENT,
        interval_s=0.05,
    )
