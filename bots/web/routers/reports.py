"""Periodic monitoring reports (made by Celery beat's ``queuebot.make_reports``): list and read them."""

from typing import Annotated

from fastapi import APIRouter, Query

from bots.not_found import found
from bots.web.deps import SessionDep
from bots.web.routers._params import Limit, Offset, RowId
from bots.web.schemas import ReportOut, ReportPage
from core.jobs import NoNul
from db import queries
from db.models import Report

router = APIRouter(tags=["reports"])


@router.get("/reports", response_model=ReportPage)
def list_reports(
    session: SessionDep,
    topic: Annotated[str | None, Query(max_length=100), NoNul] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ReportPage:
    """Newest period first."""
    page = queries.list_reports(session, topic=topic, limit=limit, offset=offset)
    return ReportPage.of(page, ReportOut.model_validate)


@router.get("/reports/{report_id}", response_model=ReportOut)
def get_report(report_id: RowId, session: SessionDep) -> ReportOut:
    return ReportOut.model_validate(found(session.get(Report, report_id), f"report {report_id}"))
