"""The command line's client of a running product's REST API: the one place that sends a request again
after ``Retry-After`` and waits for jobs to finish (``queuebot measure``, ``replay`` and ``benchmark``).

A 429 (this caller's rate limit) or 503 (a full queue, Redis down) means nothing was stored, so the
same request is sent again after the wait the server asked for. A client gives up on one request once
it has waited ``retry_for_s`` in all: a product that refuses for minutes is something to see, not to
sit out quietly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx

from cli.server_events import server_events

log = logging.getLogger(__name__)

FINAL_STATES = ("done", "failed")
RETRY_STATUSES = (429, 503)
DEFAULT_RETRY_FOR_S = 300.0
# A Retry-After longer than this is waited in steps, so a wrong header cannot stall the client for hours.
MAX_SINGLE_WAIT_S = 60.0


class ApiError(RuntimeError):
    """The API refused a request for good; the message carries its status and what it said."""


class ApiClient:
    def __init__(self, http: httpx.Client, *, retry_for_s: float = DEFAULT_RETRY_FOR_S) -> None:
        self.http = http
        self.retry_for_s = retry_for_s

    @classmethod
    def connect(cls, base_url: str, token: str, *, timeout_s: float = 30.0) -> ApiClient:
        headers = {"Authorization": f"Bearer {token}"}
        return cls(httpx.Client(base_url=base_url, headers=headers, timeout=timeout_s))

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.http.close()

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """The response, once it is neither 429 nor 503; ApiError for any other error status."""
        waited = 0.0
        while True:
            response = self.http.request(method, path, **options)
            if response.status_code not in RETRY_STATUSES:
                return _checked(method, path, response)
            waited += self._wait_as_told(method, path, response, waited)

    def _wait_as_told(self, method: str, path: str, response: httpx.Response, waited: float) -> float:
        """Sleep the Retry-After of a 429 or 503 and return it; ApiError once the budget is spent."""
        wait_s = _retry_after(response)
        if waited + wait_s > self.retry_for_s:
            raise ApiError(f"{_refusal(method, path, response)} (still, after waiting {waited:.0f} s)")
        log.warning("%s %s: %d, waiting %.1f s as asked", method, path, response.status_code, wait_s)
        time.sleep(wait_s)
        return wait_s

    def submit(self, path: str, body: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """POST a job request; returns the answer (a job, or a chat message with its job)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        answer: dict[str, Any] = self.request("POST", path, json=body, headers=headers).json()
        return answer

    def job(self, job_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.request("GET", f"/api/jobs/{job_id}").json()
        return found

    def wait_for_job(self, job_id: str, *, poll_s: float, timeout_s: float) -> dict[str, Any]:
        """The job once it is done or failed."""
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.job(job_id)
            if job["status"] in FINAL_STATES:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {timeout_s:.0f} s")
            time.sleep(poll_s)

    def follow_job(self, job_id: str, *, timeout_s: float) -> dict[str, Any]:
        """The job once it is done or failed, from its server-sent events (``/api/jobs/{id}/events``):
        one request that the server answers when the worker announces the change, instead of a GET
        every few milliseconds that loads the cores the jobs need."""
        path = f"/api/jobs/{job_id}/events"
        deadline = time.monotonic() + timeout_s
        waited = 0.0
        while True:
            with self.http.stream("GET", path) as response:
                if response.status_code in RETRY_STATUSES:
                    response.read()
                    waited += self._wait_as_told("GET", path, response, waited)
                    continue
                if response.is_error:
                    response.read()
                    raise ApiError(_refusal("GET", path, response))
                job = _final_job_event(response.iter_lines(), deadline)
            if job is not None:
                return job
            # The stream ended before the job did (a restarted web process): follow it again.
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} not final after {timeout_s:.0f} s")

    def count_jobs(self, kind: str, status: str) -> int:
        """How many jobs of ``kind`` have ``status``: one cheap request, however many jobs there are."""
        page = self.request("GET", "/api/jobs", params={"kind": kind, "status": status, "limit": 1}).json()
        return int(page["total"])


def _final_job_event(lines: Iterator[str], deadline: float) -> dict[str, Any] | None:
    """The first ``job`` event whose job is final, or None if the stream ends without one."""
    for event in server_events(_before(deadline, lines)):
        if event.name == "job":
            job: dict[str, Any] = event.json()
            if job["status"] in FINAL_STATES:
                return job
    return None


def _before(deadline: float, lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if time.monotonic() > deadline:  # the server sends a comment every few seconds at least
            raise TimeoutError("job not final by its deadline")
        yield line


def _checked(method: str, path: str, response: httpx.Response) -> httpx.Response:
    if response.is_error:
        raise ApiError(_refusal(method, path, response))
    return response


def _refusal(method: str, path: str, response: httpx.Response) -> str:
    return f"{method} {path}: {response.status_code} {response.text[:500]}"


def _retry_after(response: httpx.Response) -> float:
    try:
        wait_s = float(response.headers.get("Retry-After", "1"))
    except ValueError:  # an HTTP date; this API sends seconds
        wait_s = 1.0
    return min(max(wait_s, 0.0), MAX_SINGLE_WAIT_S)
