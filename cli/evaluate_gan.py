"""``queuebot evaluate-gan``: the digits GAN's quality over several training seeds, mean ± sd.

Each seed trains a GAN of the profile into a temporary folder (nothing is published) and is scored by
the judge like the build scores it (training/gan/evaluation.py); the table shows each seed and the
spread. The judge and the splits are fixed, so the seeds differ only in the GAN's training.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger("queuebot")

FIGURES = (
    ("val_class_consistency", "class consistency"),
    ("heldout_frechet_generated", "Fréchet, generated"),
    ("heldout_frechet_real_baseline", "Fréchet, real baseline"),
    ("heldout_judge_accuracy", "judge accuracy (real)"),
)


def evaluate_gan(
    profile: Annotated[str, typer.Option(help="tiny, starter, quick or full.")] = "starter",
    seeds: Annotated[
        list[int] | None, typer.Option("--seed", help="Training seeds (repeat the option).")
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "cpu",
) -> None:
    """Train the digits GAN once per seed and print its figures with their mean ± sd."""
    from rich.console import Console
    from rich.table import Table

    from training.gan.train import train_digit_gan
    from workers.ml.device import resolve_device

    chosen = seeds or [0, 1, 2]
    resolved = resolve_device(device)
    rows: dict[int, dict[str, float]] = {}
    seconds: list[float] = []
    for seed in chosen:
        with tempfile.TemporaryDirectory() as folder:
            info = train_digit_gan(Path(folder) / "digits-gan", profile, resolved, seed)
        rows[seed] = info.metrics
        seconds.append(info.training_seconds)

    table = Table(title=f"digits-gan, profile {profile}, on {resolved}")
    table.add_column("seed")
    for _, label in FIGURES:
        table.add_column(label, justify="right")
    for seed, metrics in rows.items():
        table.add_row(str(seed), *(f"{metrics[key]:.3f}" for key, _ in FIGURES))
    table.add_row("mean ± sd", *(_spread([m[key] for m in rows.values()]) for key, _ in FIGURES))
    Console().print(table)
    Console().print(f"training time per seed: {_spread(seconds)} s")


def _spread(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.3f} ± {sd:.3f}"
