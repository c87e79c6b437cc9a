"""GET /healthz (liveness) and GET /readyz (readiness), without auth, for load balancers and the
embedded runner.

Liveness says the process answers; readiness says it can do its work now, that the database and
Redis answer. An orchestrator restarts a process that is not alive, and only stops sending traffic to
one that is not ready: a Redis outage must not restart every web process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from bots.web.probes import PROBE_TIMEOUT_S, check_database, check_redis
from core.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "A dependency failed; `checks` says which."}},
)
async def readyz(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    database, redis = await asyncio.gather(
        _check("database", lambda: check_database(settings.sqlalchemy_url)),
        _check("redis", lambda: check_redis(settings.redis_url)),
    )
    checks = {"database": database, "redis": redis}
    ready = all(result == "ok" for result in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE,
    )


async def _check(name: str, probe: Callable[[], None]) -> str:
    """Returns "ok", or why not. The probe runs in a thread with a deadline of its own, so the answer comes
    in time even from a driver that ignores its timeouts (the thread is left to finish alone)."""
    try:
        await asyncio.wait_for(asyncio.to_thread(probe), PROBE_TIMEOUT_S + 0.5)
    except TimeoutError:
        log.warning("readiness: %s did not answer within %.1f s", name, PROBE_TIMEOUT_S + 0.5)
        return "timeout"
    except Exception as exc:
        # The unauthenticated answer names the error's type only; addresses stay in the log.
        log.warning("readiness: %s failed: %s", name, exc)
        return f"failed: {type(exc).__name__}"
    return "ok"
