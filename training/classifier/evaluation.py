"""The evaluation report every classifier gets: scikit-learn's report, headline metrics, a confusion matrix.

Training (for the model card) and ``queuebot evaluate`` (for any labelled file) both call
:func:`evaluate_predictions`, so the figures in a card and on the command line are computed the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

from training.classifier.labelled_data import OUT_OF_SCOPE


@dataclass(frozen=True)
class EvaluationReport:
    rows: int
    labels: list[str]
    metrics: dict[str, float]
    text: str  # scikit-learn's classification report
    confusion: np.ndarray  # rows: gold label, columns: predicted label, in ``labels`` order

    def summary(self) -> str:
        figures = ", ".join(f"{key} {value:.4f}" for key, value in self.metrics.items())
        return f"{self.rows} rows: {figures}"


def evaluate_predictions(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> EvaluationReport:
    labels = list(labels)
    unknown = sorted(set(gold) - set(labels))
    if unknown:
        raise ValueError(
            f"the data has label(s) the model does not know: {unknown[:10]}; model labels: {labels[:10]}..."
        )
    present = [label for label in labels if label in set(gold) | set(predicted)]
    metrics = {
        "accuracy": float(accuracy_score(gold, predicted)),
        "macro_f1": float(f1_score(gold, predicted, labels=present, average="macro", zero_division=0)),
    }
    if OUT_OF_SCOPE in labels and OUT_OF_SCOPE in gold:
        metrics.update(out_of_scope_metrics(gold, predicted))
    return EvaluationReport(
        rows=len(gold),
        labels=labels,
        metrics={key: round(value, 4) for key, value in metrics.items()},
        text=classification_report(gold, predicted, labels=present, digits=4, zero_division=0),
        confusion=confusion_matrix(gold, predicted, labels=labels),
    )


def out_of_scope_metrics(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """The two figures CLINC150 is judged by: out-of-scope recall and in-scope accuracy."""
    oos = [p == OUT_OF_SCOPE for g, p in zip(gold, predicted, strict=True) if g == OUT_OF_SCOPE]
    in_scope = [g == p for g, p in zip(gold, predicted, strict=True) if g != OUT_OF_SCOPE]
    return {
        "out_of_scope_recall": sum(oos) / len(oos),
        "in_scope_accuracy": sum(in_scope) / len(in_scope) if in_scope else float("nan"),
    }


def save_confusion_png(report: EvaluationReport, path: Path, title: str) -> Path:
    """A heat map of the confusion matrix; counts are written in the cells when there are few labels."""
    import matplotlib

    matplotlib.use("Agg")  # no display on workers and CI
    import matplotlib.pyplot as plt

    n = len(report.labels)
    size = max(4.0, min(0.22 * n + 2, 36.0))
    figure, axes = plt.subplots(figsize=(size, size))
    # Normalise each row so rare classes are as visible as common ones; counts go in the cells.
    totals = report.confusion.sum(axis=1, keepdims=True).clip(min=1)
    axes.imshow(report.confusion / totals, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(n), report.labels, rotation=90, fontsize=8 if n <= 30 else 5)
    axes.set_yticks(range(n), report.labels, fontsize=8 if n <= 30 else 5)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    if n <= 30:
        for (row, column), count in np.ndenumerate(report.confusion):
            shade = report.confusion[row, column] / totals[row, 0]
            axes.text(
                column, row, str(count), ha="center", va="center", color="white" if shade > 0.5 else "black"
            )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
