"""The web page's sign-in: the API token buys a session cookie; the cookie reads data, and changes
data only with the page's own header; a wrong, forged or expired cookie gets nothing."""

from __future__ import annotations

import time

import httpx
from pydantic import SecretStr

from bots.web.security_headers import SECURITY_HEADERS
from bots.web.web_session import CLIENT_HEADER, COOKIE_NAME, new_session_cookie

PAGE = {CLIENT_HEADER: "web"}


def _signed_in(client: httpx.Client) -> httpx.Client:
    response = client.post("/auth/session", json={"token": "test-token"})
    assert response.status_code == 204
    return client


def test_the_api_token_buys_an_http_only_strict_cookie_and_a_wrong_one_nothing(
    anonymous_api: httpx.Client,
) -> None:
    wrong = anonymous_api.post("/auth/session", json={"token": "guess"})
    assert wrong.status_code == 401 and COOKIE_NAME not in wrong.cookies

    right = anonymous_api.post("/auth/session", json={"token": "test-token"})

    header = right.headers["set-cookie"].lower()
    assert right.status_code == 204 and COOKIE_NAME in right.cookies
    assert "httponly" in header and "samesite=strict" in header and "max-age=43200" in header
    assert "test-token" not in header


def test_the_cookie_reads_data_and_changes_it_only_with_the_pages_header(anonymous_api: httpx.Client) -> None:
    client = _signed_in(anonymous_api)

    assert client.get("/auth/session").status_code == 204
    assert client.get("/api/jobs").status_code == 200
    forged = client.post("/api/chat", json={"message": "from another site"})
    assert forged.status_code == 403 and CLIENT_HEADER in forged.json()["detail"]
    page = client.post("/api/chat", json={"message": "from the page"}, headers=PAGE)
    assert page.status_code == 202 and page.json()["job"]["source"] == "web"


def test_every_job_the_page_sends_is_stored_as_the_page_s(
    anonymous_api: httpx.Client, api: httpx.Client
) -> None:
    page = _signed_in(anonymous_api)
    requests = {
        "/api/generate": {"prompt": "The government said"},
        "/api/sentiment": {"items": [{"text": "Shares fell after the warning."}]},
    }

    for path, body in requests.items():
        from_page = page.post(path, json=body, headers=PAGE)
        from_client = api.post(path, json=body)

        assert from_page.status_code == 202 and from_page.json()["source"] == "web", path
        assert from_client.status_code == 202 and from_client.json()["source"] == "api", path


def test_a_refused_change_stores_nothing(anonymous_api: httpx.Client, api: httpx.Client) -> None:
    client = _signed_in(anonymous_api)
    before = api.get("/api/jobs", params={"kind": "generate"}).json()["total"]

    assert client.post("/api/generate", json={"prompt": "forged"}).status_code == 403

    assert api.get("/api/jobs", params={"kind": "generate"}).json()["total"] == before


def test_forged_and_expired_cookies_and_signed_out_browsers_get_401(anonymous_api: httpx.Client) -> None:
    token = SecretStr("test-token")
    expired = new_session_cookie(token, lifetime_s=60, now=time.time() - 120)
    forged = new_session_cookie(SecretStr("another-token"), lifetime_s=3600)
    for cookie in (expired, forged, "12345", "not.a.cookie"):
        anonymous_api.cookies.set(COOKIE_NAME, cookie)
        assert anonymous_api.get("/api/jobs").status_code == 401, cookie

    client = _signed_in(anonymous_api)
    assert client.delete("/auth/session").status_code == 204
    assert client.get("/api/jobs").status_code == 401


def test_the_page_and_its_scripts_are_served_without_sign_in_and_hold_no_data(
    anonymous_api: httpx.Client,
) -> None:
    page = anonymous_api.get("/")
    script = anonymous_api.get("/static/app.js")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="sign-in"' in page.text
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert anonymous_api.get("/auth/session").status_code == 401


def test_every_response_forbids_framing_sniffing_and_scripts_from_elsewhere(
    anonymous_api: httpx.Client, api: httpx.Client
) -> None:
    responses = {
        "page": anonymous_api.get("/"),
        "script": anonymous_api.get("/static/app.js"),
        "signed out": anonymous_api.get("/auth/session"),
        "api": api.get("/api/jobs"),
        "refused body": api.post("/api/chat", content=b'{"message": "' + b"a" * 1_100_000 + b'"}'),
    }

    assert [r.status_code for r in responses.values()] == [200, 200, 401, 200, 413]
    for name, response in responses.items():
        for header, value in SECURITY_HEADERS.items():
            assert response.headers.get(header) == value, (name, header)
    policy = SECURITY_HEADERS["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
