"""GET /healthz: liveness, without auth, for load balancers and the embedded runner."""

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
