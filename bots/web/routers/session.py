"""The web page's sign-in: trade the API token for a session cookie, check it, sign out."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from bots.web.deps import CallerDep
from bots.web.rate_limit import note_wrong_token, refuse_if_guessing
from bots.web.web_session import COOKIE_NAME, new_session_cookie
from core.settings import get_settings

router = APIRouter(prefix="/auth", tags=["web session"])


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=500, description="The API token (QUEUEBOT_API_TOKEN).")


@router.post("/session", status_code=status.HTTP_204_NO_CONTENT)
def sign_in(body: SignIn, request: Request, response: Response) -> None:
    """Sets the session cookie the web page uses instead of the bearer token."""
    settings = get_settings()
    refuse_if_guessing(request)
    if not secrets.compare_digest(body.token.encode(), settings.api_token.get_secret_value().encode()):
        note_wrong_token(request)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API token")
    lifetime_s = settings.web_session_hours * 3600
    response.set_cookie(
        COOKIE_NAME,
        new_session_cookie(settings.api_token, lifetime_s),
        max_age=int(lifetime_s),
        httponly=True,
        samesite="strict",
        # Over plain HTTP (a laptop, the tests) a Secure cookie would never come back.
        secure=request.url.scheme == "https",
        path="/",
    )


@router.get("/session", status_code=status.HTTP_204_NO_CONTENT)
def check_session(_: CallerDep) -> None:
    """204 when the cookie (or a bearer token) is good, 401 otherwise: the page asks this first."""


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(response: Response) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
