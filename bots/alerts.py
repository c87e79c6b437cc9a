"""Moving an alert on: acknowledged (someone is looking) and resolved (dealt with), from the Slack
buttons or the web API.

Both call :func:`change_alert_status`, so the rules live in one place: an open alert can be
acknowledged; an open or acknowledged one can be resolved; a resolved alert stays resolved.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import update

from bots.not_found import NotFound
from db.base import utcnow
from db.engine import session_scope
from db.models import Alert, AlertStatus

log = logging.getLogger(__name__)

# The statuses an alert may be in for each move to apply.
ALLOWED_FROM = {
    AlertStatus.ACKNOWLEDGED: (AlertStatus.OPEN,),
    AlertStatus.RESOLVED: (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED),
}


class UnknownAlert(NotFound):
    pass


@dataclass(frozen=True)
class StatusChange:
    alert_id: int
    status: AlertStatus  # the alert's status after the call
    # False when the move did not apply: a second click, or the alert was already further along.
    changed: bool


def change_alert_status(alert_id: int, to: AlertStatus, by: str) -> StatusChange:
    """Move the alert to ``to`` if the rules allow it from its current status.

    A move that does not apply is not an error (a retry or two people clicking at once); the result
    says so and carries the status the alert has. A conditional UPDATE, so exactly one of two
    concurrent callers is told they changed it.
    """
    if to not in ALLOWED_FROM:
        raise ValueError(f"an alert cannot be moved to {to.value}")
    now = utcnow()
    stamp = (
        {"acknowledged_by": by, "acknowledged_at": now}
        if to is AlertStatus.ACKNOWLEDGED
        else {"resolved_by": by, "resolved_at": now}
    )
    with session_scope() as session:
        changed = session.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.status.in_(ALLOWED_FROM[to]))
            .values(status=to, updated_at=now, **stamp)
        ).rowcount
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise UnknownAlert(f"alert {alert_id} does not exist")
        status = alert.status
    if changed:
        log.info("alert %d %s by %s", alert_id, to.value, by)
    else:
        log.info("alert %d is %s; %s by %s changed nothing", alert_id, status.value, to.value, by)
    return StatusChange(alert_id, status, bool(changed))
