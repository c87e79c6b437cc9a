"""The web page's sign-in: a cookie that proves its holder gave the API token, without holding it.

The cookie is ``<expiry>.<HMAC-SHA256 of the expiry, keyed by the API token>``: the server keeps no
session state, a changed token signs everyone out, and a stolen cookie expires. It is HttpOnly (page
scripts cannot read it) and SameSite=Strict; changes made with it must also carry
:data:`CLIENT_HEADER`, which a form or image on another site cannot send.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from pydantic import SecretStr

COOKIE_NAME = "queuebot_session"
CLIENT_HEADER = "X-Queuebot-Client"
_PURPOSE = b"queuebot web session v1:"


def new_session_cookie(api_token: SecretStr, lifetime_s: float, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + lifetime_s)
    return f"{expires}.{_signature(api_token, expires)}"


def session_cookie_is_valid(cookie: str, api_token: SecretStr, now: float | None = None) -> bool:
    expires_text, _, signature = cookie.partition(".")
    if not expires_text.isdigit():
        return False
    expires = int(expires_text)
    if expires <= (time.time() if now is None else now):
        return False
    # Constant time, like the bearer token: the time taken must not reveal how much matched.
    return hmac.compare_digest(signature.encode(), _signature(api_token, expires).encode())


def _signature(api_token: SecretStr, expires: int) -> str:
    key = api_token.get_secret_value().encode()
    return hmac.new(key, _PURPOSE + str(expires).encode(), hashlib.sha256).hexdigest()
