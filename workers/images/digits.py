"""The image job: draw the asked-for digit n times with the GAN and store the PNGs with the job."""

from __future__ import annotations

import secrets
from typing import Any

from core.job_results import ImageResult
from core.jobs import DIGITS_GAN_MODEL, ImagePayload
from core.settings import get_settings
from db.models import JobImage
from workers.images.png import grey_png
from workers.job_runner import JobOutcome
from workers.ml.digit_gan import IMAGE_SIDE, DigitDraw
from workers.registry import get_registry


def image_url(job_id: str, index: int) -> str:
    return f"/api/jobs/{job_id}/images/{index}.png"


def draw_digits(job_id: str, job_input: dict[str, Any]) -> JobOutcome:
    payload = ImagePayload.model_validate(job_input)
    digit = payload.wanted_digit
    # Without a seed each job draws fresh noise; the seed used is stored, so any job can be redrawn.
    seed = payload.seed if payload.seed is not None else secrets.randbelow(2**31)
    served = get_registry().served(DIGITS_GAN_MODEL)
    draws = [DigitDraw(digit=digit, seed=seed, index=k) for k in range(payload.n)]
    # Through the GAN's micro-batcher: images of jobs that arrive together are drawn in one pass.
    images = served.batcher.submit(draws)
    scale = get_settings().image_png_scale
    rows = [
        JobImage(job_id=job_id, index=k, digit=digit, png=grey_png(image, scale))
        for k, image in enumerate(images)
    ]
    result = ImageResult(
        digit=digit,
        count=len(rows),
        seed=seed,
        images=[image_url(job_id, k) for k in range(len(rows))],
        width=IMAGE_SIDE * scale,
    )
    # The PNGs are written in the transaction that marks the job done: a done job has all of them.
    return JobOutcome(result=result, model_name=served.name, model_version=served.version, rows=rows)
