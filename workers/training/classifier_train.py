"""Train one named classifier (see ``classifier_recipes``) into a model folder with its model card."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from workers.ml.classifier import TextClassifier
from workers.ml.device import resolve_device
from workers.ml.info import ModelInfo, write_info
from workers.training import labelled_data as sets
from workers.training.classifier_fit import fit_classifier
from workers.training.classifier_head import fit_linear_head
from workers.training.classifier_recipes import get_recipe
from workers.training.common import MINILM_BASE, count_parameters, new_info, seed_everything
from workers.training.labelled_data import OUT_OF_SCOPE, LabelledTexts
from workers.training.model_card import ClassifierCard, write_classifier_card
from workers.training.reports import EvaluationReport, evaluate_predictions, save_confusion_png
from workers.training.splits import sample

log = logging.getLogger(__name__)

CONFUSION_PNG = "confusion_matrix.png"


def train_classifier(
    name: str, data_dir: Path, out_dir: Path, profile: str, device: str, seed: int = 0
) -> ModelInfo:
    recipe = get_recipe(name)
    chosen = recipe.profile(profile)
    device = resolve_device(device)
    seed_everything(seed)
    data = recipe.training_data(data_dir, profile, seed)
    labels = list(recipe.fixed_labels or sorted({*data.train.labels, *data.valid.labels, *data.test.labels}))
    log.info(
        "%s: %d training, %d validation, %d test rows, %d labels",
        name,
        len(data.train),
        len(data.valid),
        len(data.test),
        len(labels),
    )

    fit = fit_linear_head if chosen.method == "linear-head" else fit_classifier
    fitted = fit(
        data.train, data.valid, labels, chosen.fit, device, seed, selection_metric=recipe.selection_metric
    )
    info = new_info(
        name=name,
        kind=recipe.kind,
        profile=profile,
        base=MINILM_BASE,
        parameters=count_parameters(fitted.model),
        device=device,
        data={
            "dataset": recipe.dataset,
            "split": recipe.split_spec.as_dict(),
            "split_description": recipe.split_note or recipe.split_spec.describe(),
            "train_rows": len(data.train),
            "valid_rows": len(data.valid),
            "test_rows": len(data.test),
            "train_label_counts": data.train.counts(),
            "auxiliary_train": list(recipe.auxiliary_train) if chosen.extra_train_rows else [],
            "licences": recipe.licences,
            "seed": seed,
            "method": chosen.method,
            "best_epoch": fitted.best_epoch,
            "epochs_run": fitted.epochs_run,
        },
    )
    info.training_seconds = round(fitted.seconds, 1)
    classifier = TextClassifier(fitted.model, fitted.tokenizer, info, device)
    if recipe.out_of_scope:
        threshold = calibrate_out_of_scope_threshold(classifier, data.valid, recipe.min_in_scope_accuracy)
        info.data["out_of_scope"] = {"label": OUT_OF_SCOPE, "threshold": threshold}
        classifier = TextClassifier(fitted.model, fitted.tokenizer, info, device)

    test_set = data.test if len(data.test) else data.valid
    report = evaluate(classifier, test_set)
    # The best epoch's validation figures: what a background build compares before it replaces a
    # served version (``workers/training/build.py``); the test split decides nothing.
    best = fitted.history[fitted.best_epoch - 1]
    info.metrics = {"val_accuracy": best["accuracy"], "val_macro_f1": best["macro_f1"]}
    info.metrics |= {f"test_{key}": value for key, value in report.metrics.items()}
    extra_reports = {}
    for extra in recipe.extra_tests:
        rows = sample(sets.NAMED_SETS[extra](data_dir), chosen.max_eval_rows, seed)
        extra_reports[extra] = evaluate(classifier, rows)
        info.metrics.update({f"{extra}_{k}": v for k, v in extra_reports[extra].metrics.items()})
    log.info("%s: test %s", name, report.summary())

    out_dir.mkdir(parents=True, exist_ok=True)
    fitted.model.save_pretrained(out_dir)
    fitted.tokenizer.save_pretrained(out_dir)
    save_confusion_png(report, out_dir / CONFUSION_PNG, f"{name} on its held-out test split")
    write_info(out_dir, info)
    write_classifier_card(
        out_dir,
        ClassifierCard(
            recipe=recipe,
            info=info,
            fit=chosen.fit,
            history=fitted.history,
            test_report=report,
            extra_reports=extra_reports,
            confusion_png=CONFUSION_PNG,
        ),
    )
    return info


def evaluate(classifier: TextClassifier, data: LabelledTexts) -> EvaluationReport:
    predicted = [p.label for p in classifier.classify(data.texts)]
    return evaluate_predictions(data.labels, predicted, classifier.labels)


def calibrate_out_of_scope_threshold(
    classifier: TextClassifier, valid: LabelledTexts, min_in_scope_accuracy: float
) -> float:
    """The highest confidence threshold whose validation in-scope accuracy stays >= the floor.

    A higher threshold sends more queries to out-of-scope: it raises out-of-scope recall and lowers
    in-scope accuracy, so the best threshold is the largest one the accuracy floor allows.
    """
    probabilities = TextClassifier.probabilities_of(
        classifier.model, classifier.tokenizer, valid.texts, classifier.device
    )
    labels = classifier.labels
    oos_column = labels.index(OUT_OF_SCOPE)
    top = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    gold = np.array(valid.labels)
    in_scope = gold != OUT_OF_SCOPE
    best = 0.0
    for threshold in np.round(np.arange(0.0, 1.0, 0.01), 2):
        predicted = _apply_threshold(top, confidence, oos_column, float(threshold))
        names = np.array(labels)[predicted]
        accuracy = float((names[in_scope] == gold[in_scope]).mean())
        if accuracy >= min_in_scope_accuracy:
            best = float(threshold)
    log.info(
        "out-of-scope threshold %.2f (validation in-scope accuracy floor %.3f)", best, min_in_scope_accuracy
    )
    return best


def _apply_threshold(
    top: np.ndarray, confidence: np.ndarray, oos_column: int, threshold: float
) -> np.ndarray:
    return np.where(confidence < threshold, oos_column, top)
