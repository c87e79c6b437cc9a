"""GET /api/jobs/{id}/events streams a job's status as server-sent events until it is final; the
last event carries the stored result."""

from __future__ import annotations

import json

import httpx
import pytest

pytestmark = pytest.mark.usefixtures("celery_worker")


def _events(api: httpx.Client, job_id: str) -> list[dict]:
    events = []
    with api.stream("GET", f"/api/jobs/{job_id}/events", timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                assert event == "job"
                events.append(json.loads(line.removeprefix("data: ")))
    return events


def test_a_jobs_stream_ends_with_the_stored_result(api: httpx.Client) -> None:
    job = api.post("/api/generate", json={"prompt": "Markets opened", "max_new_tokens": 4, "seed": 1}).json()

    events = _events(api, job["id"])

    statuses = [event["status"] for event in events]
    assert statuses[-1] == "done" and statuses.count("done") == 1
    assert set(statuses) <= {"queued", "running", "done"}
    assert events[-1] == api.get(f"/api/jobs/{job['id']}").json()


def test_a_finished_jobs_stream_sends_it_once_and_ends(api: httpx.Client) -> None:
    job = api.post("/api/generate", json={"prompt": "Rain later", "max_new_tokens": 2, "seed": 2}).json()
    _events(api, job["id"])

    again = _events(api, job["id"])

    assert [event["status"] for event in again] == ["done"]


def test_unknown_jobs_are_404_and_strangers_401(api: httpx.Client, anonymous_api: httpx.Client) -> None:
    assert api.get("/api/jobs/no-such-job/events").status_code == 404
    assert anonymous_api.get("/api/jobs/no-such-job/events").status_code == 401
