"""GET /api/models: what each model is doing, serving which version or training which profile since when.

The builder publishes it to Redis (``core.model_status``); a worker serves whatever version is current
when it takes its next job. A model the builder never reported (a models folder built by hand before
publishing existed) is not listed.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, status
from redis.exceptions import RedisError

from bots.fail_fast_redis import fail_fast_redis
from core import model_status
from core.model_status import ModelStatus
from core.settings import get_settings

log = logging.getLogger(__name__)

router = APIRouter(tags=["models"])

REDIS_TIMEOUT_S = 1.0
RETRY_AFTER_S = 5


@router.get(
    "/models",
    response_model=list[ModelStatus],
    responses={503: {"description": "Redis, where the status is kept, is unreachable; retry later."}},
)
def list_models() -> list[ModelStatus]:
    """Every model the builder has reported, by name: `serving` (with the version and profile served),
    `training` (the profile being trained since `since`; `version` is what serves meanwhile, if
    anything) or `failed` (why, in `detail`)."""
    try:
        return model_status.read_all(fail_fast_redis(get_settings().redis_url, REDIS_TIMEOUT_S))
    except RedisError as exc:
        log.warning("model status unavailable: %s", exc)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the model status is unavailable; retry later",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from exc
