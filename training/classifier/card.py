"""The model card (README.md) of a trained classifier: data and split, hyper-parameters, time, metrics."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from training.classifier.evaluation import EvaluationReport
from training.classifier.fit import FitConfig
from training.classifier.recipes import ClassifierRecipe
from training.model_card import write_model_card
from workers.ml.backends import INT8_INFO_KEY, ONNX_INT8, measured_backend
from workers.ml.calibration import CONFIDENCE_KEY
from workers.ml.info import ModelInfo
from workers.ml.out_of_scope import OutOfScopeScore


@dataclass(frozen=True)
class ClassifierCard:
    recipe: ClassifierRecipe
    info: ModelInfo
    fit: FitConfig
    history: list[dict[str, float]]
    test_report: EvaluationReport
    extra_reports: dict[str, EvaluationReport]
    confusion_png: str
    view_reports: dict[str, EvaluationReport] = field(default_factory=dict)  # the test split, other shapes


def write_classifier_card(folder: Path, card: ClassifierCard) -> None:
    info, recipe = card.info, card.recipe
    data = info.data
    also_trained_on = ", ".join(data["auxiliary_train"])
    sections = {
        "Data": (
            f"Held-out test split cut from `{recipe.dataset}`: {data['split_description']}. "
            f"Rows: {data['train_rows']} train, {data['valid_rows']} validation, {data['test_rows']} test. "
            + (
                f"Trained on training rows of at most {data['max_train_chars']} characters only. "
                if data.get("max_train_chars")
                else ""
            )
            + (
                f"Also trained on (training only, never validation or test): {also_trained_on}. "
                if data["auxiliary_train"]
                else ""
            )
            + f"Licences: {recipe.licences} Reproduce the test figures with "
            f"`queuebot evaluate {info.name} {recipe.dataset}`."
        ),
        "Training": (
            (
                f"all-MiniLM-L6-v2 frozen, with a {len(card.test_report.labels)}-way logistic regression on "
                "its sentence embeddings (mean-pooled, normalised); the regularisation strength C chosen on "
                f"validation {recipe.selection_metric} (row {data['best_epoch']} below)"
                + (
                    "; the embeddings are the encoder's int8 export's, as served on a CPU, so every "
                    "figure here is int8's (fp32 torch serves the same head unscored)"
                    if measured_backend(data.get(INT8_INFO_KEY)) == ONNX_INT8
                    else ""
                )
                if data.get("method") == "linear-head"
                else f"all-MiniLM-L6-v2 with a new {len(card.test_report.labels)}-way classification head. "
                + ", ".join(f"{key} {value}" for key, value in asdict(card.fit).items())
                + f". Model selection on validation {recipe.selection_metric}: best epoch "
                f"{data['best_epoch']} of {data['epochs_run']} run"
            )
            + f". Seed {data['seed']}. {info.training_seconds:.0f} s on {info.device}.\n\n"
            + _history_table(card.history)
        ),
        "Test report": f"```\n{card.test_report.text}```\n\n![confusion matrix]({card.confusion_png})",
    }
    for name, report in card.view_reports.items():
        sections[f"Test report on {name}"] = f"```\n{report.text}```"
    if CONFIDENCE_KEY in data:
        sections["Confidence threshold"] = _confidence_section(data[CONFIDENCE_KEY], info.metrics)
    if "out_of_scope" in data:
        sections["Out-of-scope detection"] = _out_of_scope_section(data, recipe.min_in_scope_accuracy)
    for name, report in card.extra_reports.items():
        sections[f"Also evaluated on {name} (whole file)"] = f"```\n{report.text}```"
    if recipe.references:
        sections["Published reference figures"] = "\n".join(f"- {ref}" for ref in recipe.references)
    write_model_card(
        folder,
        title=f"queuebot {info.name}",
        summary=(
            f"A linear head over a frozen BERT-family encoder: {recipe.summary}."
            if data.get("method") == "linear-head"
            else f"A fine-tuned BERT-family classifier: {recipe.summary}."
        ),
        info=info,
        sections=sections,
    )


def _history_table(history: list[dict[str, float]]) -> str:
    if not history:
        return ""
    keys = list(history[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(row[key]) for key in keys) + " |" for row in history]
    return "\n".join(lines)


def _out_of_scope_section(data: dict[str, Any], min_in_scope_accuracy: float) -> str:
    rule = data["out_of_scope"]
    score = rule.get("score", OutOfScopeScore.MAX_PROBABILITY)
    how = (
        f"any other prediction whose top probability is below {rule['threshold']:.2f} becomes out-of-scope"
        if score == OutOfScopeScore.MAX_PROBABILITY
        else (
            "any query whose features (final layer, mean-pooled) lie farther than "
            f"{rule['threshold']:.1f} (squared Mahalanobis distance) from every intent's training mean "
            "becomes out-of-scope"
        )
    )
    text = (
        f"An explicit `{rule['label']}` class; beyond it, {how}. Each score's threshold is the one with the "
        f"most validation out-of-scope recall while validation in-scope accuracy stays at or above "
        f"{min_in_scope_accuracy}; the score with the higher recall is used."
    )
    rows = data.get("out_of_scope_validation", [])
    if rows:
        text += "\n\n| score | threshold | validation in-scope accuracy | validation out-of-scope recall "
        text += "| AUROC |\n|---|---|---|---|---|\n"
        text += "\n".join(
            f"| {row['score']}{' (used)' if row['score'] == score else ''} | {row['threshold']} | "
            f"{row['in_scope_accuracy']:.3f} | {row['out_of_scope_recall']:.3f} | {row['auroc']:.3f} |"
            for row in rows
        )
    return text


def _confidence_section(calibration: dict[str, Any], metrics: dict[str, float]) -> str:
    text = (
        f"Probabilities are divided in the log domain by a temperature of {calibration['temperature']} "
        f"(fitted on validation: negative log-likelihood {calibration['validation_nll_before']} -> "
        f"{calibration['validation_nll_after']}). A prediction is used as a topic when its calibrated "
        f"confidence is at least {calibration['threshold']}: the lowest confidence at which validation "
        f"predictions at or above it were right at least {calibration['target_precision']:.0%} of the time "
        f"({calibration['validation_kept_share']:.1%} of {calibration['validation_rows']} validation rows "
        f"reached it, {calibration['validation_kept_accuracy']:.1%} of them right)."
    )
    suffix = "_confident_share"
    prefixes = sorted({key.removesuffix(suffix) for key in metrics if key.endswith(suffix)})
    if prefixes:
        text += "\n\n| held-out test rows | share at or above the threshold | accuracy of those |"
        text += "\n|---|---|---|\n"
        text += "\n".join(
            f"| {prefix.removeprefix('test').strip('_') or 'whole articles'} | "
            f"{metrics[prefix + suffix]:.3f} | {metrics[prefix + '_confident_accuracy']:.3f} |"
            for prefix in prefixes
        )
    return text
