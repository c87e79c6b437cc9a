"""The GAN's model card: README.md with its figures, a sample grid per class and the loss curves."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from training.gan.evaluation import draw_images
from training.model_card import write_model_card
from workers.images.png import grid_png
from workers.ml.info import ModelInfo

if TYPE_CHECKING:
    from training.gan.evaluation import GanScores
    from training.gan.train import LossCurves
    from workers.ml.digit_gan import DigitGan

SAMPLES_FILE = "samples.png"
LOSSES_FILE = "losses.png"
SAMPLES_PER_CLASS = 10


def write_gan_card(
    folder: Path, info: ModelInfo, gan: DigitGan, scores: GanScores, curves: LossCurves
) -> None:
    asked = np.repeat(np.arange(10), SAMPLES_PER_CLASS)
    images = draw_images(gan, asked, seed=12345)
    rows = [list(images[asked == digit]) for digit in range(10)]
    (folder / SAMPLES_FILE).write_bytes(grid_png(rows, scale=6))
    _plot_losses(curves, folder / LOSSES_FILE)
    split = info.data["split"]
    per_class = " | ".join(f"{value:.2f}" for value in scores.per_class_consistency)
    sections = {
        "Samples": (
            f"![one row per digit, 0 to 9]({SAMPLES_FILE})\n\n"
            f"{SAMPLES_PER_CLASS} draws per digit (rows 0-9), fixed noise seeds."
        ),
        "Loss curves": f"![generator and discriminator losses]({LOSSES_FILE})",
        "Quality": (
            f"Judged by a digit classifier (an MLP, one hidden layer of 64) trained on {split['judge']} "
            f"real digits the GAN never saw; its accuracy on {split['heldout']} held-out real digits is "
            f"{scores.judge_accuracy:.3f}.\n\n"
            f"- Class consistency: {scores.class_consistency:.3f} of {10 * scores.images_per_class} "
            f"generated images ({scores.images_per_class} per digit) are read as the digit asked for "
            "(target ≥ 0.90; the judge's own accuracy on real digits is the ceiling to compare with).\n"
            f"- Per digit 0-9: {per_class}\n"
            f"- Fréchet distance on the judge's hidden features, against the {split['heldout']} held-out "
            f"digits: generated {scores.frechet_generated:.2f}; baseline, as many real digits from the "
            f"GAN's training split with the same class mix, {scores.frechet_real_baseline:.2f} (lower is "
            "closer; the baseline is what a perfect copy of the training data scores)."
        ),
        "Data": (
            f"{info.data['source']}. Stratified split (fixed seed): {split['gan']} digits to train the GAN, "
            f"{split['judge']} to train the judge, {split['heldout']} held out for the distances and the "
            "judge's accuracy. The class consistency (what decides whether a build replaces the served "
            "one) reads no held-out digit."
        ),
    }
    write_model_card(
        folder,
        "digits-gan: a conditional DCGAN for handwritten digits",
        "Draws 8x8 handwritten digits of the class asked for (noise 32 + class embedding).",
        info,
        sections,
    )


def _plot_losses(curves: LossCurves, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    steps = [curves.every * (i + 1) for i in range(len(curves.generator))]
    figure, axes = plt.subplots(figsize=(6, 3.2), dpi=100)
    axes.plot(steps, curves.generator, label="generator")
    axes.plot(steps, curves.discriminator, label="discriminator")
    axes.set_xlabel("step")
    axes.set_ylabel(f"BCE loss (mean of {curves.every} steps)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
