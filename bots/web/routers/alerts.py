"""GET /api/alerts: alerts raised by sentiment monitoring."""

from fastapi import APIRouter, Query

from bots.web.deps import SessionDep
from bots.web.routers._params import Limit, Offset
from bots.web.schemas import AlertOut, AlertPage
from db import queries
from db.models import AlertStatus

router = APIRouter(tags=["alerts"])


@router.get("/alerts", response_model=AlertPage)
def list_alerts(
    session: SessionDep,
    status: AlertStatus | None = None,
    topic: str | None = Query(default=None, max_length=100),
    limit: Limit = 50,
    offset: Offset = 0,
) -> AlertPage:
    """Newest first."""
    page = queries.list_alerts(session, status=status, topic=topic, limit=limit, offset=offset)
    return AlertPage.of(page, AlertOut.model_validate)
