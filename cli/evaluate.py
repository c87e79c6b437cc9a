"""``queuebot evaluate MODEL DATA``: the model card's report, for any labelled data."""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from core.settings import get_settings
from workers.ml.backends import INT8_INFO_KEY, ONNX_INT8, TORCH, measured_backend

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

    from training.classifier import labelled_data
    from training.classifier.confidence import confident_figures
    from training.classifier.evaluation import evaluate_predictions, save_confusion_png
    from training.classifier.recipes import RECIPES
    from workers.ml.classifier import TextClassifier
    from workers.ml.device import resolve_device
    from workers.ml.info import read_info
    from workers.model_store import ModelStore

    settings = get_settings()
    folder = Path(model) if Path(model).is_dir() else ModelStore(settings.models_dir).folder(model)
    # The backend its card was measured on first, so that the card's figures are what is printed.
    measured_on = measured_backend(read_info(folder).data.get(INT8_INFO_KEY))
    device = "cpu" if measured_on == ONNX_INT8 else resolve_device(settings.device)
    classifier = TextClassifier.load(folder, device, measured_on)
    info = classifier.info

    if data in labelled_data.NAMED_SETS:
        trained_on = info.data.get("dataset")
        recipe = RECIPES.get(info.name)
        # Another shape of the trained-on set's test split (topic-news: bbc-news-titles) is held out too.
        view = recipe.held_out_view_of(data) if recipe is not None and trained_on == recipe.dataset else None
        if split is Split.TEST and recipe is not None and (data == trained_on or view is not None):
            rows = recipe.held_out_test(settings.data_dir, info.profile, int(info.data["seed"]), view)
            described = f"{data}, held-out test split ({info.data['split_description']})"
        else:
            rows = labelled_data.NAMED_SETS[data](settings.data_dir)
            described = f"{data}, every row"
    else:
        rows = labelled_data.read_labelled_file(Path(data), text_column, label_column)
        described = f"{data}, every row"

    predictions = classifier.classify(rows.texts)
    report = evaluate_predictions(rows.labels, [p.label for p in predictions], classifier.labels)
    if classifier.min_confidence is not None:
        # The figures that say how far the topics it predicts can be trusted (its card holds them).
        report.metrics.update(
            confident_figures(predictions, rows.labels, classifier.min_confidence, "threshold")
        )
    console = Console()
    console.print(f"[bold]{info.name} {info.version}[/bold] on {described}")
    console.print(f"backend: {_BACKEND_NAMES[measured_on]}, as the model card's figures were measured")
    # Raw, never re-wrapped: a 150-label report is wider than a terminal and must stay aligned.
    typer.echo(report.text)
    for key, value in report.metrics.items():
        console.print(f"{key}: {value:.4f}")
    if confusion is not None:
        save_confusion_png(report, confusion, f"{info.name} on {data}")
        console.print(f"confusion matrix written to {confusion}")
    _print_other_backend_beside(folder, measured_on, rows, predictions, report.metrics["accuracy"], console)


_BACKEND_NAMES = {TORCH: "torch fp32", ONNX_INT8: "onnx-int8"}


def _print_other_backend_beside(
    folder: Path, printed: str, rows: Any, predictions: list[Any], accuracy: float, console: Any
) -> None:
    """The same rows through the model's other backend (its int8 export, or for a head fitted on the
    int8 encoder's vectors, fp32 torch): that accuracy beside the printed one."""
    from workers.ml.classifier import TextClassifier
    from workers.ml.int8_runtime import has_int8_export

    other = TORCH if printed == ONNX_INT8 else ONNX_INT8
    if other == ONNX_INT8 and not has_int8_export(folder):
        console.print("onnx-int8: no export (built by `queuebot build-models`)")
        return
    labels = [p.label for p in TextClassifier.load(folder, "cpu", other).classify(rows.texts)]
    other_accuracy = sum(a == b for a, b in zip(labels, rows.labels, strict=True)) / max(len(labels), 1)
    same = sum(a == b.label for a, b in zip(labels, predictions, strict=True)) / max(len(labels), 1)
    console.print(
        f"accuracy, {_BACKEND_NAMES[other]}: {other_accuracy:.4f} ({_BACKEND_NAMES[printed]} {accuracy:.4f}, "
        f"a difference of {other_accuracy - accuracy:+.4f}; labels equal to {_BACKEND_NAMES[printed]}'s: "
        f"{same:.4f})"
    )


def evaluate_replies(
    limit: Annotated[int | None, typer.Option(help="Only the first N held-out questions.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Also write the figures and every question's reply here (JSON).")
    ] = None,
    force_generation: Annotated[
        bool,
        typer.Option(
            "--force-generation",
            help="Answer every held-out question through the generation path from its nearest approved "
            "answers (never its own reference), instead of routing.",
        ),
    ] = False,
    data: Annotated[
        Path | None,
        typer.Option(
            help="With --force-generation: the questions from this CSV or JSONL file (columns question or "
            "instruction, intent, and reply, response or reference), instead of the model's held-out split."
        ),
    ] = None,
    split: Annotated[
        str,
        typer.Option(
            help="With --force-generation: the replies model's held-out 'test' split, or 'valid' for "
            "choosing thresholds."
        ),
    ] = "test",
    calibrate: Annotated[
        float | None,
        typer.Option(
            help="With --force-generation: also print the grounding threshold that best tells replies "
            "this close to their reference (MiniLM cosine) from the rest. Use it on --split valid."
        ),
    ] = None,
) -> None:
    """Score the reply pipeline on held-out customer-support questions and CLINC150 out-of-scope ones."""
    if force_generation:
        _evaluate_forced_generation(limit, out, data, split, calibrate)
        return
    for given, name in ((data, "--data"), (calibrate, "--calibrate")):
        if given is not None:
            raise typer.BadParameter(f"{name} goes with --force-generation", param_hint=name)

    from rich.console import Console
    from rich.table import Table

    from core.jobs import INTENT_MODEL, REPLIES_MODEL
    from training.replies.evaluation import evaluate_replies as run_evaluation
    from workers.ml.classifier import TextClassifier
    from workers.ml.device import resolve_device
    from workers.ml.generator import TextGenerator
    from workers.model_store import ModelStore

    settings = get_settings()
    device = resolve_device(settings.device)
    store = ModelStore(settings.models_dir)
    intent_model = TextClassifier.load(store.folder(INTENT_MODEL), device)
    replies_model = TextGenerator.load(store.folder(REPLIES_MODEL), device)
    report = run_evaluation(
        settings.data_dir,
        intent_model,
        replies_model,
        settings.reply_slot_values,
        settings.reply_min_grounding,
        device,
        limit,
    )

    console = Console()
    models = ", ".join(f"{name} {version}" for name, version in report.models.items())
    console.print(
        f"[bold]reply pipeline[/bold] ({models}): {report.questions} held-out customer-support questions, "
        f"{report.knowledge_entries} approved answers, {report.seconds:.0f} s"
    )
    console.print(f"right intent: {report.intent_accuracy:.4f}")
    console.print(f"mean reply similarity to the reference (MiniLM cosine): {report.mean_similarity:.4f}")
    table = Table("path", "share", "replies", "mean similarity")
    for name, figures in report.paths.items():
        similarity = "-" if figures.mean_similarity is None else f"{figures.mean_similarity:.4f}"
        table.add_row(name, f"{figures.share:.4f}", str(figures.count), similarity)
    console.print(table)
    shares = ", ".join(f"{name} {share:.2f}" for name, share in report.out_of_scope_paths.items())
    console.print(
        f"CLINC150 out-of-scope queries ({report.out_of_scope_queries}, held out): recall "
        f"{report.out_of_scope_recall:.4f}; paths: {shares}"
    )
    if out is not None:
        _write_report(out, {**report.as_dict(), "examples": report.examples})
        console.print(f"written to {out}")


def _evaluate_forced_generation(
    limit: int | None, out: Path | None, data: Path | None, split: str, calibrate: float | None
) -> None:
    from rich.console import Console

    from core.jobs import REPLIES_MODEL
    from training.replies.forced_generation import (
        HeldOutSplit,
        calibrate_grounding,
        evaluate_forced_generation,
        worst_intents,
    )
    from workers.ml.device import resolve_device
    from workers.ml.generator import TextGenerator
    from workers.model_store import ModelStore

    try:
        held_out = HeldOutSplit(split)
    except ValueError:
        raise typer.BadParameter(
            f"choose one of {[s.value for s in HeldOutSplit]}", param_hint="--split"
        ) from None
    if data is not None and not data.is_file():
        raise typer.BadParameter(f"{data} is not a file", param_hint="--data")
    settings = get_settings()
    device = resolve_device(settings.device)
    replies_model = TextGenerator.load(ModelStore(settings.models_dir).folder(REPLIES_MODEL), device)
    try:
        report = evaluate_forced_generation(
            settings.data_dir,
            replies_model,
            settings.reply_slot_values,
            settings.reply_min_grounding,
            device,
            held_out,
            data,
            limit,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None

    console = Console()
    ((name, version),) = report.model.items()
    console.print(
        f"[bold]forced generation[/bold] ({name} {version}): {report.questions} questions from "
        f"{report.source}, {report.knowledge_entries} approved answers, {report.seconds:.0f} s"
    )
    console.print(
        f"grounding >= {report.min_grounding:.2f} (the setting: would be sent): {report.grounded_share:.4f}; "
        f"grounding >= 0.50: {report.grounded_at(0.5):.4f}; mean grounding {report.mean_grounding:.4f}"
    )
    console.print(f"mean similarity to the reference reply (MiniLM cosine): {report.mean_similarity:.4f}")
    console.print(
        f"sentences the guard cut: {report.cut_share:.4f} ({report.sentences_cut} of "
        f"{report.sentences_generated}); replies left empty: {report.empty_share:.4f}"
    )
    worst = ", ".join(f"{intent} {mean:.2f} ({n})" for intent, mean, n in worst_intents(report))
    console.print(f"lowest similarity by intent: {worst}")
    if calibrate is not None:
        if split != HeldOutSplit.VALID or data is not None:
            console.print("[yellow]calibrating on the test split: use the threshold only to compare[/yellow]")
        try:
            chosen = calibrate_grounding(report, calibrate)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--calibrate") from None
        console.print(
            f"grounding threshold for replies within {calibrate} of their reference: {chosen.threshold:.2f} "
            f"(precision {chosen.precision:.4f}, recall {chosen.recall:.4f}; {chosen.close_share:.4f} of the "
            "replies are that close); set QUEUEBOT_REPLY_MIN_GROUNDING to it"
        )
    if out is not None:
        _write_report(out, {**report.as_dict(), "examples": report.examples})
        console.print(f"written to {out}")


def evaluate_generator(
    prompts: Annotated[
        int, typer.Option(min=1, help="Continue the first N test articles from their first sentence.")
    ] = 50,
    out: Annotated[
        Path | None,
        typer.Option(help="Also write the figures and every prompt, continuation and reference here (JSON)."),
    ] = None,
    split: Annotated[
        str,
        typer.Option(
            help="The held-out articles: test (the honest figure) or validation (to choose settings)."
        ),
    ] = "test",
    no_repeat_ngram_size: Annotated[
        int | None, typer.Option(min=0, help="Sample with this no-repeat n-gram size (default: the job's).")
    ] = None,
    repetition_penalty: Annotated[
        float | None, typer.Option(min=1.0, help="Sample with this repetition penalty (default: the job's).")
    ] = None,
    samples_only: Annotated[
        bool, typer.Option(help="Only continue prompts (the decoding rules do not change perplexity).")
    ] = False,
) -> None:
    """Score the news generator on the BBC test articles: perplexity against an n-gram, and samples."""

    from rich.console import Console

    from core.jobs import GENERATOR_MODEL
    from training.gpt2.generator_evaluation import DecodingRules, held_out_articles, sample_figures
    from training.gpt2.generator_evaluation import evaluate_generator as run_evaluation
    from workers.ml.device import resolve_device
    from workers.ml.generator import TextGenerator
    from workers.model_store import ModelStore

    settings = get_settings()
    device = resolve_device(settings.device)
    generator = TextGenerator.load(ModelStore(settings.models_dir).folder(GENERATOR_MODEL), device)
    defaults = DecodingRules()
    rules = DecodingRules(
        defaults.no_repeat_ngram_size if no_repeat_ngram_size is None else no_repeat_ngram_size,
        defaults.repetition_penalty if repetition_penalty is None else repetition_penalty,
    )
    console = Console()
    rules_text = (
        f"no_repeat_ngram_size {rules.no_repeat_ngram_size}, repetition_penalty {rules.repetition_penalty}"
    )
    try:
        if samples_only:
            _train, held_out = held_out_articles(settings.data_dir, generator, split)
            samples = sample_figures(generator, held_out[:prompts], device, rules)
            console.print(
                f"[bold]{generator.info.name} {generator.info.version}[/bold], {split} articles, "
                f"{rules_text}: "
                f"{samples.prompts} continuations: repeated 4-grams {_figure(samples.repeated_4gram_share)}, "
                f"distinct-2 {_figure(samples.distinct_2)}, "
                f"similarity to the real continuation (MiniLM cosine) {samples.mean_similarity:.4f}"
            )
            if out is not None:
                _write_report(out, {"split": split, **vars(rules), **vars(samples)})
            return
        report = run_evaluation(settings.data_dir, generator, device, prompts, split, rules)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None

    console.print(
        f"[bold]{report.model} {report.version}[/bold]: "
        f"{report.test_articles} held-out BBC {split} articles, "
        f"{report.gpt2_tokens} GPT-2 tokens, {report.seconds:.0f} s"
    )
    served = (
        "the transformer alone"
        if report.transformer_weight is None
        else f"transformer weight {report.transformer_weight:.2f}, n-gram {1 - report.transformer_weight:.2f}"
    )
    console.print(
        f"generator as served ({served}): perplexity {report.generator.perplexity:.2f} per GPT-2 token, "
        f"{report.generator.bits_per_byte:.4f} bits per byte"
    )
    if report.uncopied is not None and report.copy_weights is not None:
        weights = ", ".join(f"{weight:.2f}" for weight in report.copy_weights)
        console.print(
            f"  of which copying from the text so far (weights {weights} by match length); without it: "
            f"perplexity {report.uncopied.perplexity:.2f}, {report.uncopied.bits_per_byte:.4f} bits per byte"
        )
    console.print(
        f"transformer alone: perplexity {report.transformer.perplexity:.2f} per GPT-2 token, "
        f"{report.transformer.bits_per_byte:.4f} bits per byte"
    )
    console.print(
        f"n-gram baseline (order-{report.ngram_order} Kneser-Ney, same training articles): perplexity "
        f"{report.baseline.perplexity:.2f} per GPT-2 token, {report.baseline.bits_per_byte:.4f} bits per byte"
    )
    console.print(f"generator vs baseline perplexity: {report.relative_difference:+.1%}")
    console.print(
        f"{report.prompts} continuations ({rules_text}): "
        f"repeated 4-grams {_figure(report.repeated_4gram_share)}, "
        f"distinct-2 {_figure(report.distinct_2)}, "
        f"similarity to the real continuation (MiniLM cosine) {report.mean_similarity:.4f}"
    )
    if out is not None:
        _write_report(out, {**report.as_dict(), "examples": report.examples})
        console.print(f"written to {out}")


def _write_report(out: Path, report: dict[str, Any]) -> None:
    import json

    out.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def evaluate_monitoring(
    human_prefix: Annotated[
        str, typer.Option(help="The topic prefix of the replay with given (human) labels.")
    ] = "human:",
) -> None:
    """Compare monitoring on a stream replayed twice: the model's labels against people's."""
    from rich.console import Console
    from rich.table import Table

    from db.engine import new_session
    from workers.monitoring.evaluation import evaluate_monitoring as run_evaluation

    settings = get_settings()
    with new_session() as session:
        try:
            report = run_evaluation(session, settings, human_prefix)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--human-prefix") from None
    console = Console()
    console.print(f"model labels vs human labels on {report.items} items: accuracy {report.accuracy:.4f}")
    table = Table("topic", "model alerts", "human alerts", "same bucket", "live = in order (model, human)")
    for topic in report.topics:
        live = f"{_yes(topic.model_live_as_in_order)}, {_yes(topic.human_live_as_in_order)}"
        table.add_row(topic.topic, str(topic.model_alerts), str(topic.human_alerts), str(topic.matched), live)
    console.print(table)
    console.print(
        f"model alerts matched by human ones: {report.model_alerts_matched:.2f}; "
        f"human alerts matched by model ones: {report.human_alerts_matched:.2f}"
    )


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
