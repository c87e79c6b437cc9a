"""Alerts raised by sentiment monitoring: list them, read one, acknowledge and resolve them (the
same moves as the buttons on the alert in Slack)."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from bots.alerts import change_alert_status
from bots.not_found import found
from bots.web.deps import SessionDep
from bots.web.routers._params import Limit, Offset, RowId
from bots.web.schemas import AlertOut, AlertPage, AlertStatusOut, AlertStatusRequest
from core.jobs import NoNul
from db import queries
from db.models import Alert, AlertChart, AlertStatus

router = APIRouter(tags=["alerts"])


@router.get("/alerts", response_model=AlertPage)
def list_alerts(
    session: SessionDep,
    status: AlertStatus | None = None,
    topic: Annotated[str | None, Query(max_length=100), NoNul] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AlertPage:
    """Newest first."""
    page = queries.list_alerts(session, status=status, topic=topic, limit=limit, offset=offset)
    return AlertPage.of(page, AlertOut.model_validate)


@router.get("/alerts/{alert_id}", response_model=AlertOut)
def get_alert(alert_id: RowId, session: SessionDep) -> AlertOut:
    """The alert with its evidence and who moved it on."""
    return AlertOut.model_validate(found(session.get(Alert, alert_id), f"alert {alert_id}"))


@router.get(
    "/alerts/{alert_id}/chart.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The chart as a PNG image."}},
)
def get_alert_chart(alert_id: RowId, session: SessionDep) -> Response:
    """The trend chart drawn when the alert was raised: the spiking bucket against its baseline."""
    chart = session.get(AlertChart, alert_id)
    if chart is None:
        exists = session.get(Alert, alert_id) is not None
        detail = f"alert {alert_id} has no chart" if exists else f"alert {alert_id} does not exist"
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail)
    return Response(chart.png, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"})


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertStatusOut)
def acknowledge_alert(alert_id: RowId, body: AlertStatusRequest | None = None) -> AlertStatusOut:
    """Someone is looking at it. Applies to an open alert; on one already acknowledged or resolved
    it answers 200 with ``changed: false`` and the status the alert has."""
    return _move(alert_id, AlertStatus.ACKNOWLEDGED, body)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertStatusOut)
def resolve_alert(alert_id: RowId, body: AlertStatusRequest | None = None) -> AlertStatusOut:
    """Dealt with. Applies to an open or acknowledged alert; resolving twice answers
    ``changed: false``."""
    return _move(alert_id, AlertStatus.RESOLVED, body)


def _move(alert_id: int, to: AlertStatus, body: AlertStatusRequest | None) -> AlertStatusOut:
    change = change_alert_status(alert_id, to, by=(body or AlertStatusRequest()).by)
    return AlertStatusOut(alert_id=change.alert_id, status=change.status, changed=change.changed)
