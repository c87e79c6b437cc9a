"""The web application: the REST API under /api (a bearer token, or the web page's session cookie),
the OpenAI-compatible API under /v1, the web page at /, health, readiness and metrics.

Run with ``uvicorn bots.web.app:create_app --factory``. This process never imports torch.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, status
from fastapi.responses import JSONResponse

from bots.gateway import IdempotencyConflict
from bots.not_found import NotFound
from bots.web.body_limit import BodySizeLimitMiddleware
from bots.web.deps import limit_rate
from bots.web.metrics import web_registry
from bots.web.openai_api import router as openai_router
from bots.web.routers import (
    alerts,
    chat,
    conversations,
    generate,
    health,
    images,
    job_events,
    jobs,
    knowledge,
    metrics,
    models,
    page,
    reports,
    sentiment,
    session,
    trends,
)
from bots.web.routers import recommendations as recommendations_router
from bots.web.security_headers import SecurityHeadersMiddleware
from bots.web.unavailable import RETRY_AFTER_S, RETRY_LATER, retry_later_message
from core.logs import use_format
from core.long_lived import freeze_start_up_objects
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app; ``settings`` (default: the environment's) decide how it is built and what /readyz and
    /metrics look at. Request handlers read the process's settings."""
    settings = settings or get_settings()
    if settings.log_format == "json":
        _log_json()
    app = FastAPI(
        title="queuebot",
        version="0.1.0",
        description="Chat replies, sentiment monitoring and text generation, run by Celery workers.",
        lifespan=_serving,
    )
    app.state.settings = settings
    app.state.metrics_registry = web_registry(settings)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    # Added last, so outermost: a 413 from the body limit gets the headers too.
    app.add_middleware(SecurityHeadersMiddleware)
    app.include_router(health.router)
    # The token, then the caller's rate limit (which needs to know who is calling).
    api = [Depends(limit_rate)]
    app.include_router(metrics.router, dependencies=api if settings.metrics_require_token else [])
    for router in (
        chat.router,
        conversations.router,
        generate.router,
        images.router,
        sentiment.router,
        jobs.router,
        job_events.router,
        alerts.router,
        reports.router,
        knowledge.router,
        trends.router,
        models.router,
    ):
        app.include_router(router, prefix="/api", dependencies=api)
    app.include_router(recommendations_router.router, prefix="/api", dependencies=api)
    # The OpenAI-compatible API (/v1), on the same token, rate limits, gateway and jobs.
    app.include_router(openai_router, dependencies=api)
    # The web page: its files are open (they hold no data), everything they show needs sign-in.
    app.include_router(session.router)
    app.include_router(page.router)
    app.mount("/static", page.static_files(), name="static")
    if settings.slack_enabled and settings.slack_signing_secret is not None:
        # Imported here: a web app without Slack never loads bolt.
        from bots.slack.app import create_slack_app
        from bots.slack.http_events import slack_events_router

        app.include_router(slack_events_router(create_slack_app(settings)))
    _register_error_handlers(app)
    return app


@asynccontextmanager
async def _serving(_: FastAPI) -> AsyncIterator[None]:
    freeze_start_up_objects()  # everything imported and built, before the first request
    yield


def _log_json() -> None:
    # uvicorn configured its loggers before calling this factory; the project's own loggers propagate
    # to the root, which has no handler under uvicorn. All of them write JSON lines from here on.
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
        root.setLevel(logging.INFO)
    handlers = [
        *root.handlers,
        *logging.getLogger("uvicorn").handlers,
        *logging.getLogger("uvicorn.access").handlers,
    ]
    use_format(handlers, "json")


def _register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(IdempotencyConflict)
    async def _conflict(_: Request, exc: IdempotencyConflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)

    # One 503 with Retry-After for a full queue, an unreachable queue and an unavailable database
    # (bots/web/unavailable.py says why 503 and why a retry is safe).
    async def _retry_later(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"detail": retry_later_message(exc)},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    for error in RETRY_LATER:
        app.add_exception_handler(error, _retry_later)
