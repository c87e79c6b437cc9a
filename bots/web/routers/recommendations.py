"""GET /api/recommendations: the articles last suggested in a conversation, ranked, with scores;
POST /api/recommendations/{impression_id}/click: log that one was opened (the web chat's links).

The suggestions are read from what the worker stored with the reply (the impression), not ranked
again here: the web process loads no model, and the log must say what the person actually saw.
"""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from fastapi.exceptions import RequestValidationError

from bots.recommendations import NotShown, latest_impression, record_click
from bots.web.deps import CallerDep, SessionDep
from bots.web.recommendation_schemas import ClickOut, ClickRequest, RecommendationsOut
from core.job_results import SuggestedArticle
from core.jobs import MAX_ROW_ID

router = APIRouter(tags=["recommendations"])

ImpressionId = Annotated[str, Path(min_length=1, max_length=36)]


@router.get("/recommendations", response_model=RecommendationsOut)
def get_recommendations(
    conversation_id: Annotated[int, Query(ge=1, le=MAX_ROW_ID)], session: SessionDep
) -> RecommendationsOut:
    """The latest reply's suggestions, best first; no items before any reply suggested some."""
    impression = latest_impression(session, conversation_id)
    if impression is None:
        return RecommendationsOut(
            conversation_id=conversation_id,
            impression_id=None,
            job_id=None,
            ranker=None,
            created_at=None,
            items=[],
        )
    return RecommendationsOut(
        conversation_id=conversation_id,
        impression_id=impression.id,
        job_id=impression.job_id,
        ranker=impression.ranker_version,
        created_at=impression.created_at,
        items=[SuggestedArticle.model_validate(item) for item in impression.items],
    )


@router.post(
    "/recommendations/{impression_id}/click", response_model=ClickOut, status_code=status.HTTP_201_CREATED
)
def click(impression_id: ImpressionId, body: ClickRequest, caller: CallerDep) -> ClickOut:
    """Log a click on a suggestion (every click is kept) and return the article to show."""
    try:
        logged = record_click(impression_id, body.entry_id, caller.source, body.user)
    except NotShown as exc:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", "entry_id"), "msg": str(exc), "input": body.entry_id}]
        ) from None
    return ClickOut.model_validate(asdict(logged))
