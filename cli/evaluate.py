"""``queuebot evaluate MODEL DATA``: the model card's report, for any labelled data."""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from core.settings import get_settings

log = logging.getLogger("queuebot")


class Split(StrEnum):
    TEST = "test"
    ALL = "all"


def evaluate(
    model: Annotated[str, typer.Argument(help="A model name (its current version) or a model folder.")],
    data: Annotated[
        str,
        typer.Argument(
            help="A named set (financial-phrasebank, banking77, clinc150, sst2-dev, ...) "
            "or a .csv/.tsv/.jsonl file."
        ),
    ],
    split: Annotated[
        Split,
        typer.Option(help="For the set the model was trained on: its held-out test split, or every row."),
    ] = Split.TEST,
    text_column: Annotated[str, typer.Option(help="Text column of a file.")] = "text",
    label_column: Annotated[str, typer.Option(help="Label column of a file.")] = "label",
    confusion: Annotated[Path | None, typer.Option(help="Also write the confusion matrix PNG here.")] = None,
) -> None:
    """Print scikit-learn's classification report, accuracy, macro-F1 (and out-of-scope figures)."""
    from rich.console import Console

    from workers.ml.classifier import TextClassifier
    from workers.ml.device import resolve_device
    from workers.model_store import ModelStore
    from workers.training import labelled_data
    from workers.training.classifier_recipes import RECIPES
    from workers.training.classifier_train import evaluate as evaluate_classifier
    from workers.training.reports import save_confusion_png

    settings = get_settings()
    folder = Path(model) if Path(model).is_dir() else ModelStore(settings.models_dir).folder(model)
    classifier = TextClassifier.load(folder, resolve_device(settings.device))
    info = classifier.info

    if data in labelled_data.NAMED_SETS:
        trained_on = info.data.get("dataset")
        if split is Split.TEST and data == trained_on and info.name in RECIPES:
            rows = RECIPES[info.name].held_out_test(settings.data_dir, info.profile, int(info.data["seed"]))
            described = f"{data}, held-out test split ({info.data['split_description']})"
        else:
            rows = labelled_data.NAMED_SETS[data](settings.data_dir)
            described = f"{data}, every row"
    else:
        rows = labelled_data.read_labelled_file(Path(data), text_column, label_column)
        described = f"{data}, every row"

    report = evaluate_classifier(classifier, rows)
    console = Console()
    console.print(f"[bold]{info.name} {info.version}[/bold] on {described}")
    # Raw, never re-wrapped: a 150-label report is wider than a terminal and must stay aligned.
    typer.echo(report.text)
    for key, value in report.metrics.items():
        console.print(f"{key}: {value:.4f}")
    if confusion is not None:
        save_confusion_png(report, confusion, f"{info.name} on {data}")
        console.print(f"confusion matrix written to {confusion}")
