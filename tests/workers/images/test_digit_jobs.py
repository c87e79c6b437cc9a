"""The image job's work on the real tiny GAN: concurrent jobs share one forward pass through the
micro-batcher, and each job's images are the same whether it was drawn alone or in a batch."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from core.jobs import DIGITS_GAN_MODEL
from core.settings import reset_settings_cache
from workers.images.digits import draw_digits
from workers.job_runner import JobOutcome
from workers.registry import get_registry


@pytest.fixture
def tiny_gan(tiny_models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("QUEUEBOT_MODELS_DIR", str(tiny_models_dir))
    # A long window, so that jobs started together surely meet in one batch on a loaded machine.
    monkeypatch.setenv("QUEUEBOT_IMAGE_BATCH_WAIT_MS", "300")
    reset_settings_cache()
    yield
    monkeypatch.undo()
    reset_settings_cache()


def _pngs(outcome: JobOutcome) -> list[bytes]:
    return [row.png for row in outcome.rows]  # type: ignore[attr-defined]


def test_concurrent_image_jobs_are_drawn_in_one_forward_pass_with_the_images_they_get_alone(
    tiny_gan: None,
) -> None:
    jobs = {f"job-{k}": {"digit": k, "n": 1 + k % 4, "seed": 100 + k} for k in range(6)}
    alone = {job_id: _pngs(draw_digits(job_id, job_input)) for job_id, job_input in jobs.items()}
    batcher = get_registry().served(DIGITS_GAN_MODEL).batcher
    assert batcher is not None
    batches_before, requests_before = batcher.stats.batches, batcher.stats.requests

    together: dict[str, JobOutcome] = {}
    start = threading.Barrier(len(jobs))

    def run(job_id: str) -> None:
        start.wait()
        together[job_id] = draw_digits(job_id, jobs[job_id])

    threads = [threading.Thread(target=run, args=(job_id,)) for job_id in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert batcher.stats.requests - requests_before == len(jobs)
    assert batcher.stats.batches - batches_before == 1
    assert {job_id: _pngs(outcome) for job_id, outcome in together.items()} == alone
    for job_id, outcome in together.items():
        assert [row.index for row in outcome.rows] == list(range(jobs[job_id]["n"]))  # type: ignore[attr-defined]
        assert outcome.result.digit == jobs[job_id]["digit"]  # type: ignore[union-attr]


def test_the_stored_pngs_are_the_8x8_drawing_scaled_up_without_blur(tiny_gan: None) -> None:
    outcome = draw_digits("job-png", {"digit": 0, "n": 1, "seed": 5})
    image = Image.open(BytesIO(_pngs(outcome)[0]))

    assert image.size == (64, 64)
    pixels = image.load()
    # Nearest-neighbour: every 8x8 block is one grey.
    for by in range(8):
        for bx in range(8):
            block = {pixels[8 * bx + dx, 8 * by + dy] for dx in range(8) for dy in range(8)}
            assert len(block) == 1
