"""GET /metrics: Prometheus text format (bots/web/metrics.py says what it holds and why).

No token by default: Prometheus scrapes from inside the network and the figures are counts, not
content. QUEUEBOT_METRICS_REQUIRE_TOKEN=true puts it behind the API token (Prometheus then sends it
with ``authorization: {credentials: ...}`` in its scrape config).
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)

# Each store is read with the probes' timeouts; this bounds the whole scrape all the same.
SCRAPE_TIMEOUT_S = 10.0

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics_registry
    try:
        body = await asyncio.wait_for(asyncio.to_thread(generate_latest, registry), SCRAPE_TIMEOUT_S)
    except TimeoutError:
        log.warning("metrics: scrape took longer than %.0f s", SCRAPE_TIMEOUT_S)
        return Response("scrape timed out\n", status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
