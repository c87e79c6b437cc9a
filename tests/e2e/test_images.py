"""Image jobs on real parts: HTTP -> app -> database -> Redis -> Celery worker -> the GAN (tiny, built
for the session) -> PNGs in job_images -> served back over HTTP."""

from __future__ import annotations

from io import BytesIO

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from db.engine import session_scope
from db.models import Job, JobImage
from tests.support.stack_fixtures import wait_for_job

pytestmark = pytest.mark.usefixtures("celery_worker")


def _png(api: httpx.Client, url: str) -> Image.Image:
    response = api.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return Image.open(BytesIO(response.content))


def test_an_image_job_stores_n_pngs_of_the_digit_and_serves_each(api: httpx.Client) -> None:
    accepted = api.post("/api/images", json={"digit": 3, "n": 5, "seed": 11})
    assert accepted.status_code == 202, accepted.text

    job = wait_for_job(api, accepted.json()["id"])

    assert (job["kind"], job["status"]) == ("image", "done"), job["error"]
    assert job["model_name"] == "digits-gan"
    result = job["result"]
    assert (result["digit"], result["count"], result["seed"]) == (3, 5, 11)
    assert result["images"] == [f"/api/jobs/{job['id']}/images/{k}.png" for k in range(5)]
    for url in result["images"]:
        image = _png(api, url)
        assert image.size == (result["width"], result["width"]) == (64, 64)
        assert image.mode == "L"
    with session_scope() as session:
        rows = session.scalars(select(JobImage).where(JobImage.job_id == job["id"])).all()
    assert sorted((row.index, row.digit) for row in rows) == [(k, 3) for k in range(5)]


def test_a_prompt_that_names_a_digit_draws_that_digit(api: httpx.Client) -> None:
    accepted = api.post("/api/images", json={"prompt": "draw me a seven", "n": 1})
    assert accepted.status_code == 202, accepted.text

    job = wait_for_job(api, accepted.json()["id"])

    assert job["status"] == "done", job["error"]
    assert job["result"]["digit"] == 7
    assert isinstance(job["result"]["seed"], int)  # a fresh seed, stored so the job can be redrawn


def test_the_same_seed_draws_the_same_images_in_another_job(api: httpx.Client) -> None:
    first, second = (
        wait_for_job(api, api.post("/api/images", json={"digit": 5, "n": 3, "seed": 42}).json()["id"])
        for _ in range(2)
    )

    assert first["id"] != second["id"]
    for a, b in zip(first["result"]["images"], second["result"]["images"], strict=True):
        assert api.get(a).content == api.get(b).content
    # and a different seed draws something else
    other = wait_for_job(api, api.post("/api/images", json={"digit": 5, "n": 1, "seed": 43}).json()["id"])
    assert api.get(other["result"]["images"][0]).content != api.get(first["result"]["images"][0]).content


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"digit": 10}, "digit"),
        ({"digit": -1}, "digit"),
        ({"digit": 4, "n": 0}, "n"),
        ({"digit": 4, "n": 17}, "n"),
        ({"prompt": "a cat"}, "prompt"),
        ({"prompt": "3 or 4"}, "prompt"),
        ({"digit": 4, "colour": "red"}, "colour"),
    ],
)
def test_bad_image_requests_get_a_422_that_names_the_field_and_store_nothing(
    api: httpx.Client, body: dict[str, object], field: str
) -> None:
    with session_scope() as session:
        before = session.scalar(select(func.count()).select_from(Job))

    response = api.post("/api/images", json=body)

    assert response.status_code == 422, response.text
    assert any(error["loc"][-1] == field for error in response.json()["detail"]), response.json()
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == before


def test_a_request_with_no_digit_gets_a_422_whose_message_names_digit(api: httpx.Client) -> None:
    response = api.post("/api/images", json={"n": 2})

    assert response.status_code == 422
    assert "digit" in response.json()["detail"][0]["msg"]


def test_an_image_that_does_not_exist_is_a_404(api: httpx.Client) -> None:
    job = wait_for_job(api, api.post("/api/images", json={"digit": 1, "n": 1, "seed": 1}).json()["id"])

    assert api.get(f"/api/jobs/{job['id']}/images/1.png").status_code == 404
    assert api.get("/api/jobs/no-such-job/images/0.png").status_code == 404
    assert api.get(f"/api/jobs/{job['id']}/images/16.png").status_code == 422
