"""The digits GAN's build (tiny profile, from the session's build): the real data's splits, the
judge's measures, and the model card with its sample grid, loss curves and quality figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from training.gan.data import load_digit_splits
from training.gan.judge import Judge, frechet_distance
from workers.ml.digit_gan import DigitDraw, DigitGan
from workers.ml.info import read_info
from workers.model_store import ModelStore


def test_the_three_splits_are_disjoint_real_digits_with_every_class_in_each() -> None:
    splits = load_digit_splits()

    assert {name: len(digits) for name, digits in splits.items()} == {
        "gan": 1078,
        "judge": 359,
        "heldout": 360,
    }
    pixels = {
        name: {digits.images[i].tobytes() for i in range(len(digits))} for name, digits in splits.items()
    }
    # Disjoint up to the few digits that occur twice in the data set itself.
    assert len(pixels["gan"] & pixels["heldout"]) <= 5 and len(pixels["judge"] & pixels["heldout"]) <= 5
    for digits in splits.values():
        assert set(np.unique(digits.labels)) == set(range(10))
        assert digits.images.min() == -1.0 and digits.images.max() == 1.0


def test_the_judge_reads_real_held_out_digits_well_and_the_frechet_distance_behaves() -> None:
    splits = load_digit_splits()
    judge = Judge.fit(splits["judge"].flat(), splits["judge"].labels)

    assert judge.accuracy(splits["heldout"].flat(), splits["heldout"].labels) > 0.9
    heldout = judge.features(splits["heldout"].flat())
    assert abs(frechet_distance(heldout, heldout)) < 1e-3
    noise = judge.features(np.random.default_rng(0).random((360, 64), dtype=np.float32))
    assert frechet_distance(noise, heldout) > 10 * frechet_distance(
        judge.features(splits["gan"].flat()), heldout
    )


def test_the_built_gan_has_its_card_sample_grid_loss_curves_and_quality_figures(
    tiny_models_dir: Path,
) -> None:
    folder = ModelStore(tiny_models_dir).folder("digits-gan")
    info = read_info(folder)

    assert info.kind == "digit-gan"
    assert set(info.metrics) == {
        "val_class_consistency",
        "heldout_frechet_generated",
        "heldout_frechet_real_baseline",
        "heldout_judge_accuracy",
    }
    assert info.data["split"] == {"gan": 1078, "judge": 359, "heldout": 360}
    card = (folder / "README.md").read_text()
    for expected in ("Class consistency", "Fréchet distance", "samples.png", "losses.png", "CC BY 4.0"):
        assert expected in card
    grid = Image.open(folder / "samples.png")
    assert grid.size == (6 * (10 * 9 - 1), 6 * (10 * 9 - 1))  # 10 rows of 10 digits, 1 pixel apart
    assert Image.open(folder / "losses.png").size[0] > 0


def test_the_served_generator_draws_the_same_image_for_the_same_draw(tiny_models_dir: Path) -> None:
    gan = DigitGan.load(ModelStore(tiny_models_dir).folder("digits-gan"), "cpu")
    draws = [DigitDraw(digit=d, seed=3, index=i) for i, d in enumerate([1, 2, 3])]

    first, again = gan.draw(draws), gan.draw(draws[1:])

    assert all(image.shape == (8, 8) and image.dtype == np.uint8 for image in first)
    assert np.array_equal(first[1], again[0]) and np.array_equal(first[2], again[1])
