"""Slack's HTTP Events API on the web app: POST /slack/events (events, commands and buttons).

bolt checks the signing secret and the timestamp, and answers 401 to anything forged or stale before
a listener runs. Its dispatch is synchronous (it returns once the listener has acked), so it runs in
the thread pool rather than on the event loop.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool


def slack_events_router(slack_app: App) -> APIRouter:
    router = APIRouter(tags=["slack"])

    @router.post("/slack/events", summary="Slack Events API, slash commands and interactivity")
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        try:
            bolt_request = to_bolt_request(request, body)
        except UnicodeDecodeError:
            return Response("request body is not UTF-8", status_code=status.HTTP_400_BAD_REQUEST)
        bolt_response = await run_in_threadpool(slack_app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    return router
