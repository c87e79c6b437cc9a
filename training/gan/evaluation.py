"""How good a trained generator is, by the judge (training/gan/judge.py), on fixed draws.

Draw seeds are fixed (not the training seed), so two builds are scored on the same noise. The class
consistency uses no real digit beyond the judge's own training set, so it is the validation figure
that decides whether a build replaces the served one; the held-out digits are only read for the
Fréchet distances and the judge's accuracy, which are reported and decide nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.gan.data import Digits, as_float_ink
from training.gan.judge import Judge, frechet_distance
from workers.ml.digit_gan import DigitDraw, DigitGan

EVAL_SEED = 777
CLASSES = 10


@dataclass(frozen=True)
class GanScores:
    class_consistency: float  # share of generated images the judge reads as the digit asked for
    per_class_consistency: list[float]
    frechet_generated: float  # generated vs held-out real digits
    frechet_real_baseline: float  # the GAN's real training digits vs the same held-out digits
    judge_accuracy: float  # the judge on held-out real digits
    images_per_class: int

    def metrics(self) -> dict[str, float]:
        return {
            "val_class_consistency": round(self.class_consistency, 4),
            "heldout_frechet_generated": round(self.frechet_generated, 4),
            "heldout_frechet_real_baseline": round(self.frechet_real_baseline, 4),
            "heldout_judge_accuracy": round(self.judge_accuracy, 4),
        }


def draw_images(gan: DigitGan, labels: np.ndarray, seed: int = EVAL_SEED) -> np.ndarray:
    draws = [DigitDraw(digit=int(label), seed=seed, index=i) for i, label in enumerate(labels)]
    return np.stack(gan.draw(draws))


def score_gan(
    gan: DigitGan, judge: Judge, gan_train: Digits, heldout: Digits, images_per_class: int
) -> GanScores:
    asked = np.repeat(np.arange(CLASSES), images_per_class)
    judged = judge.predict(as_float_ink(draw_images(gan, asked)))
    per_class = [float(np.mean(judged[asked == digit] == digit)) for digit in range(CLASSES)]

    # Same size and class mix on both sides of each distance: the estimate is biased by sample size.
    generated = as_float_ink(draw_images(gan, heldout.labels, seed=EVAL_SEED + 1))
    rng = np.random.default_rng(EVAL_SEED)
    real = np.concatenate(
        [
            rng.choice(
                np.flatnonzero(gan_train.labels == digit), np.sum(heldout.labels == digit), replace=False
            )
            for digit in range(CLASSES)
        ]
    )
    heldout_features = judge.features(heldout.flat())
    return GanScores(
        class_consistency=float(np.mean(judged == asked)),
        per_class_consistency=per_class,
        frechet_generated=frechet_distance(judge.features(generated), heldout_features),
        frechet_real_baseline=frechet_distance(
            judge.features(gan_train.subset(real).flat()), heldout_features
        ),
        judge_accuracy=judge.accuracy(heldout.flat(), heldout.labels),
        images_per_class=images_per_class,
    )
