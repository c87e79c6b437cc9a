"""The starter classifiers: a logistic regression over the frozen MiniLM's sentence embeddings, its
strength chosen on validation, saved as a model folder the workers serve like any fine-tuned one."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.support.model_fixtures import DATA_DIR
from training.build import build_models
from training.classifier.head import C_GRID, fit_linear_head
from training.classifier.labelled_data import LabelledTexts
from training.classifier.recipes import get_recipe
from workers.ml.backends import INT8_INFO_KEY, ONNX_INT8, TORCH, choose_backend, measured_backend
from workers.ml.classifier import TextClassifier
from workers.ml.embedding import SentenceEncoder, minilm_path
from workers.ml.info import read_info
from workers.ml.int8_runtime import SENTENCE_ENCODER_FOLDER, Int8SentenceEncoder, export_graph
from workers.ml.linear_head import HEAD_FILE
from workers.model_store import ModelStore


@contextmanager
def small_starter() -> Iterator[None]:
    """The sentiment-finance starter on a sample of its rows, so that a test takes seconds."""
    recipe = get_recipe("sentiment-finance")
    small = dataclasses.replace(
        recipe.profiles["starter"], max_train_rows=150, extra_train_rows=0, max_eval_rows=90
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(recipe.profiles, "starter", small)
        yield


@pytest.fixture(scope="module")
def starter_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models_dir = tmp_path_factory.mktemp("starter-models")
    with small_starter():
        build_models(models_dir, DATA_DIR, "starter", "cpu", names=["sentiment-finance"])
    return ModelStore(models_dir).folder("sentiment-finance")


def test_a_starter_classifier_is_a_linear_head_chosen_on_validation(starter_folder: Path) -> None:
    info = read_info(starter_folder)
    assert (starter_folder / HEAD_FILE).is_file() and info.profile == "starter"
    assert info.data["method"] == "linear-head" and 1 <= info.data["best_epoch"] <= len(C_GRID)
    assert {"val_accuracy", "val_macro_f1", "test_accuracy", "test_macro_f1"} <= set(info.metrics)
    # The first run waits on the starter: the finance tweets it would also be scored on are left to
    # the quick model that replaces it.
    assert not any(key.startswith("finance-tweets-valid") for key in info.metrics)
    card = (starter_folder / "README.md").read_text()
    assert "logistic regression" in card and "chosen on validation macro_f1" in card


@pytest.mark.parametrize("backend", [TORCH, ONNX_INT8])
def test_the_served_head_scores_texts_as_its_embeddings_say(starter_folder: Path, backend: str) -> None:
    classifier = TextClassifier.load(starter_folder, "cpu", backend)
    texts = ["Operating profit rose to EUR 13.1 mn.", "The company said it would cut 200 jobs.", "Stable."]

    predictions = classifier.classify(texts)

    # The same arithmetic by hand: that backend's sentence embeddings, the head's weights, a softmax.
    encoder = (
        SentenceEncoder.load(minilm_path(), "cpu")
        if backend == TORCH
        else Int8SentenceEncoder.load(minilm_path(), export_graph(starter_folder))
    )
    with np.load(starter_folder / HEAD_FILE) as head:
        logits = encoder.encode(texts) @ head["weight"].T + head["bias"]
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    for prediction, row in zip(predictions, expected, strict=True):
        assert prediction.scores == pytest.approx(
            dict(zip(classifier.labels, row.tolist(), strict=True)), abs=1e-4
        )


def test_a_starter_built_on_the_cpu_is_fitted_and_measured_on_the_int8_encoder(starter_folder: Path) -> None:
    # The int8 encoder is what `auto` serves it with on a CPU, and encodes several times as fast.
    info = read_info(starter_folder)
    figures = info.data[INT8_INFO_KEY]

    assert figures["fitted_on"] == ONNX_INT8 and figures["held"] is True
    assert figures["test_accuracy"] == round(info.metrics["test_accuracy"], 4)
    assert measured_backend(figures) == ONNX_INT8
    assert choose_backend("auto", "cpu", starter_folder, info.name, figures) == ONNX_INT8
    # The export is the models folder's shared encoder graph, linked, not a copy of it.
    shared = export_graph(starter_folder.parent.parent / SENTENCE_ENCODER_FOLDER)
    assert export_graph(starter_folder).stat().st_ino == shared.stat().st_ino
    assert "the embeddings are the encoder's int8 export's" in (starter_folder / "README.md").read_text()


def test_evaluate_reproduces_the_starter_test_figures(starter_folder: Path) -> None:
    with small_starter():  # the same held-out rows as the build was scored on
        result = CliRunner().invoke(app, ["evaluate", str(starter_folder), "financial-phrasebank"])

    assert result.exit_code == 0, result.output
    assert "backend: onnx-int8, as the model card's figures were measured" in result.output
    printed = float(re.search(r"^accuracy: ([0-9.]+)$", result.output, re.MULTILINE).group(1))
    assert printed == pytest.approx(read_info(starter_folder).metrics["test_accuracy"], abs=1e-4)
    # fp32 torch serves the same head unscored by the build; evaluate shows it beside.
    assert re.search(r"accuracy, torch fp32: [0-9.]+ \(onnx-int8 [0-9.]+", result.output)


def test_a_label_without_training_examples_is_refused() -> None:
    train = LabelledTexts(["good", "bad"], ["positive", "negative"], "test")
    recipe = get_recipe("sentiment-finance")
    encoder = SentenceEncoder.load(minilm_path(), "cpu")
    with pytest.raises(ValueError, match=r"no training example for label\(s\) \['neutral'\]"):
        fit_linear_head(
            train, train, ["negative", "neutral", "positive"], recipe.profiles["starter"].fit, encoder, 0
        )


def test_every_starter_is_a_linear_head_scored_on_quick_s_held_out_rows() -> None:
    # The starter serves until quick beats it on validation: both must be scored on the same rows.
    from training.classifier.recipes import RECIPES, STARTER_TRAIN_ROWS

    for recipe in RECIPES.values():
        starter, quick = recipe.profiles["starter"], recipe.profiles["quick"]
        assert starter.method == "linear-head" and quick.method == "fine-tune", recipe.name
        assert starter.max_eval_rows is None and quick.max_eval_rows is None, recipe.name
        assert starter.max_train_rows is not None and starter.max_train_rows <= STARTER_TRAIN_ROWS
