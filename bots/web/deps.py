"""Dependencies shared by the routers: the database session, and who is calling (bearer token or
the web page's session cookie)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from bots.web.rate_limit import count_request, note_wrong_token, refuse_if_guessing
from bots.web.web_session import CLIENT_HEADER, COOKIE_NAME, session_cookie_is_valid
from core.jobs import JobSource
from core.settings import get_settings
from db.engine import new_session

_bearer = HTTPBearer(auto_error=False, description="The API token (QUEUEBOT_API_TOKEN).")


def get_session() -> Iterator[Session]:
    session = new_session()
    try:
        yield session
    finally:
        session.close()


@dataclass(frozen=True)
class Caller:
    """Who is calling: an API client (bearer token) or the web page (session cookie)."""

    source: JobSource


API_CLIENT = Caller(JobSource.API)
WEB_PAGE = Caller(JobSource.WEB)
# Methods that change nothing need no proof that the page itself sent them.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The API token as a bearer token, or the web page's session cookie (bots/web/web_session.py)."""
    expected = get_settings().api_token
    if credentials is not None:
        refuse_if_guessing(request)
        # Constant-time comparison: the time taken must not reveal how much of the token matched.
        if not secrets.compare_digest(credentials.credentials.encode(), expected.get_secret_value().encode()):
            note_wrong_token(request)
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        return API_CLIENT
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not session_cookie_is_valid(cookie, expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the web session has expired or is not valid: sign in again",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if request.method not in SAFE_METHODS and request.headers.get(CLIENT_HEADER) != "web":
        # The browser sends the cookie with any request to this site, even one another site's page
        # makes it send; only this site's scripts set the header.
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"a change made with the session cookie needs the {CLIENT_HEADER} header",
        )
    return WEB_PAGE


SessionDep = Annotated[Session, Depends(get_session)]
CallerDep = Annotated[Caller, Depends(require_token)]


def limit_rate(request: Request, caller: CallerDep) -> Caller:
    """require_token, then the caller's rate limit (bots/web/rate_limit.py): 429 past it.

    API clients share the token's bucket; each sign-in on the web page has its own, so that people
    on the page do not use up each other's requests, or an API client's.
    """
    if caller == WEB_PAGE:
        count_request(request.cookies[COOKIE_NAME])
    else:
        count_request(get_settings().api_token.get_secret_value())
    return caller
