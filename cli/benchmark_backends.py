"""``queuebot benchmark-backends``: the inference backends side by side on one classifier and the
sentence encoder: speed at each thread count, and accuracy on the classifier's own test split
(``training/int8/comparison.py``; the choice it informed: docs/inference-backends.md)."""

from __future__ import annotations

import statistics
from typing import Annotated

import typer

from cli.streams import first_texts
from core.jobs import SENTIMENT_GENERAL_MODEL
from core.settings import get_settings

TEXTS_FILE = "streams/airline_tweets.csv"


def benchmark_backends_command(
    model: Annotated[str, typer.Option(help="The classifier to compare on (its current version).")] = (
        SENTIMENT_GENERAL_MODEL
    ),
    texts: Annotated[int, typer.Option(min=64, help="Airline tweets timed per candidate and round.")] = 1000,
    threads: Annotated[list[int] | None, typer.Option(help="Thread counts to time (repeatable).")] = None,
    rounds: Annotated[int, typer.Option(min=1, help="Interleaved rounds per thread count.")] = 2,
    encoder: Annotated[bool, typer.Option(help="Compare the sentence encoder too.")] = True,
) -> None:
    """torch fp32, torch dynamic int8, ONNX fp32 and ONNX int8: texts/s and held-out accuracy."""
    from rich.console import Console
    from rich.table import Table

    from training.classifier.recipes import get_recipe
    from training.int8.comparison import compare_classifier, compare_encoder
    from workers.ml.info import read_info
    from workers.model_store import ModelStore

    settings = get_settings()
    folder = ModelStore(settings.models_dir).folder(model)
    info = read_info(folder)
    test = get_recipe(model).held_out_test(settings.data_dir, info.profile, int(info.data.get("seed", 0)))
    sample = first_texts(settings.data_dir / TEXTS_FILE, texts)
    counts = threads or [1, 2]
    speeds, accuracy = compare_classifier(folder, sample, test.texts, test.labels, counts, rounds)
    if encoder:
        more_speeds, more_accuracy = compare_encoder(sample, counts, rounds)
        speeds, accuracy = speeds + more_speeds, accuracy + more_accuracy

    table = Table(title=f"texts/s, {texts} airline tweets in batches of 64 ({info.name} {info.version})")
    for column in ("model", "backend", "threads", "texts/s (each round)", "× torch fp32 (mean)"):
        table.add_column(column)
    keys = dict.fromkeys((row.subject, row.candidate, row.threads) for row in speeds)
    for subject, candidate, count in keys:
        rows = [r for r in speeds if (r.subject, r.candidate, r.threads) == (subject, candidate, count)]
        table.add_row(
            subject,
            candidate,
            str(count),
            ", ".join(f"{r.texts_per_s:.1f}" for r in rows),
            f"{statistics.mean(r.vs_torch_fp32 for r in rows):.2f}",
        )
    quality = Table(title=f"accuracy ({len(test)} held-out test rows of {model}; encoder: the tweets above)")
    for column in ("model", "backend", "figure", "value", "agreement with fp32 / min cosine"):
        quality.add_column(column)
    for row in accuracy:
        quality.add_row(row.subject, row.candidate, row.figure, f"{row.value:.4f}", f"{row.agreement:.4f}")
    console = Console()
    console.print(table)
    console.print(quality)
