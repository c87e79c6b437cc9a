"""The web application: the REST API under /api, with bearer-token auth.

Run with ``uvicorn bots.web.app:create_app --factory``. This process never imports torch.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request, status
from fastapi.responses import JSONResponse

from bots.gateway import ConversationNotFound, EnqueueFailed, IdempotencyConflict
from bots.web.body_limit import BodySizeLimitMiddleware
from bots.web.deps import require_token
from bots.web.routers import (
    alerts,
    chat,
    conversations,
    generate,
    health,
    jobs,
    knowledge,
    reports,
    sentiment,
    trends,
)
from core.settings import get_settings

# How long a client should wait before retrying when the queue is unreachable.
RETRY_AFTER_S = 5


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="queuebot",
        version="0.1.0",
        description="Chat replies, sentiment monitoring and text generation, run by Celery workers.",
    )
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.include_router(health.router)
    api = [Depends(require_token)]
    for router in (
        chat.router,
        conversations.router,
        generate.router,
        sentiment.router,
        jobs.router,
        alerts.router,
        reports.router,
        knowledge.router,
        trends.router,
    ):
        app.include_router(router, prefix="/api", dependencies=api)
    if settings.slack_enabled and settings.slack_signing_secret is not None:
        # Imported here: a web app without Slack never loads bolt.
        from bots.slack.app import create_slack_app
        from bots.slack.http_events import slack_events_router

        app.include_router(slack_events_router(create_slack_app(settings)))
    _register_error_handlers(app)
    return app


def _register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(IdempotencyConflict)
    async def _conflict(_: Request, exc: IdempotencyConflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(ConversationNotFound)
    async def _no_conversation(_: Request, exc: ConversationNotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(EnqueueFailed)
    async def _queue_down(_: Request, exc: EnqueueFailed) -> JSONResponse:
        return JSONResponse(
            {"detail": "the job queue is unavailable; retry later", "job_id": exc.job.id},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
