"""GET /v1/models: the two things this API serves, by the names its requests use.

Not the models folder's list (/api/models has that): an OpenAI client picks a *model* to send
requests to, and here that is a way of answering. ``generator`` continues prompts (/v1/completions,
a generate job); ``customer-service`` is the reply pipeline (/v1/chat/completions, a reply job: the
intent model, the knowledge base and the replies model, or a person). ``created`` is when the newest
of its models began serving, as the builder reported it (core/model_status.py); 0 when that is not
known (nothing reported, or Redis unreachable: the list itself does not depend on it).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter
from redis.exceptions import RedisError

from bots.fail_fast_redis import fail_fast_redis
from bots.web.openai_api.errors import OpenAIError, OpenAIRoute
from bots.web.openai_api.schemas import ERROR_RESPONSES, ModelCard, ModelList
from core import model_status
from core.jobs import GENERATOR_MODEL, INTENT_MODEL, REPLIES_MODEL
from core.settings import get_settings

log = logging.getLogger(__name__)

router = APIRouter(tags=["OpenAI-compatible"], route_class=OpenAIRoute)

GENERATOR_ID = GENERATOR_MODEL
CUSTOMER_SERVICE_ID = "customer-service"
# Each id, and the models whose versions it answers with.
SERVED = {GENERATOR_ID: (GENERATOR_MODEL,), CUSTOMER_SERVICE_ID: (INTENT_MODEL, REPLIES_MODEL)}
REDIS_TIMEOUT_S = 1.0


def require_model(requested: str, served: str) -> None:
    """404 as OpenAI answers it, unless the request names the model its route serves."""
    if requested != served:
        raise OpenAIError(
            404,
            f"The model `{requested}` does not exist here; this route serves `{served}` (GET /v1/models).",
            param="model",
            code="model_not_found",
        )


@router.get("/models", response_model=ModelList, responses=ERROR_RESPONSES)
def list_models() -> ModelList:
    """The served models, in OpenAI's list shape."""
    return ModelList(data=_cards())


@router.get("/models/{model_id}", response_model=ModelCard, responses=ERROR_RESPONSES)
def retrieve_model(model_id: str) -> ModelCard:
    """One served model; 404 (code ``model_not_found``) for any other name."""
    for card in _cards():
        if card.id == model_id:
            return card
    raise OpenAIError(404, f"The model `{model_id}` does not exist.", param="model", code="model_not_found")


def _cards() -> list[ModelCard]:
    try:
        statuses = model_status.read_all(fail_fast_redis(get_settings().redis_url, REDIS_TIMEOUT_S))
    except RedisError as exc:
        log.warning("model status unavailable, listing models without their dates: %s", exc)
        statuses = []
    since = {status.name: int(status.since.timestamp()) for status in statuses if status.state == "serving"}
    return [
        ModelCard(id=model_id, created=max((since.get(name, 0) for name in names), default=0))
        for model_id, names in SERVED.items()
    ]
