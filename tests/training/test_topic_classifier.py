"""The topic classifier (topic-news) built tiny from the BBC corpus: split by article and held out,
calibrated on validation, its card and `queuebot evaluate` giving the held-out figures whole and
title-only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.support.model_fixtures import DATA_DIR
from training.build import build_models
from training.classifier.confidence import calibrate_confidence
from training.classifier.labelled_data import bbc_news, titles_of
from training.classifier.news_topics import bbc_topic_splits, leads_of
from training.classifier.recipes import get_recipe
from workers.ml.calibration import scale
from workers.ml.classifier import TextClassifier
from workers.ml.info import read_info
from workers.model_store import ModelStore

TOPICS = ("business", "entertainment", "politics", "sports", "tech")


@pytest.fixture(scope="module")
def topic_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models_dir = tmp_path_factory.mktemp("topic-models")
    build_models(models_dir, DATA_DIR, "tiny", "cpu", names=["topic-news"])
    return models_dir


def test_no_view_of_a_held_out_article_is_trained_on() -> None:
    recipe = get_recipe("topic-news")
    splits = bbc_topic_splits(DATA_DIR, recipe.split_spec)
    held_out_titles = {text.split("\n\n", 1)[0] for text in splits.test.texts}

    trained_titles = {text.split("\n\n", 1)[0].split(". ", 1)[0] for text in splits.train.texts}
    assert len(splits.test) == 413 and held_out_titles.isdisjoint(set(splits.train.texts))
    assert not any(title in trained_titles for title in held_out_titles)
    # The corpus repeats some articles word for word; each is read once.
    articles = bbc_news(DATA_DIR)
    assert len(articles) == len(set(articles.texts)) < 2127
    assert sorted(set(articles.labels)) == list(TOPICS)


def test_a_title_view_is_the_first_line_and_a_lead_adds_the_first_sentence() -> None:
    articles = bbc_news(DATA_DIR).subset([0])
    [title] = titles_of(articles).texts
    [lead] = leads_of(articles).texts

    assert title == "Ad sales boost Time Warner profit"
    assert lead.startswith(title + ". Quarterly profits at US media giant TimeWarner jumped 76%")
    assert "\n" not in lead and lead.endswith(".")


def test_calibration_picks_the_lowest_confidence_that_keeps_validation_precision_on_target() -> None:
    # Two classes; the model is sure and right on six rows, unsure and wrong on two.
    probabilities = np.array([[0.95, 0.05]] * 6 + [[0.6, 0.4]] * 2)
    gold = ["a"] * 6 + ["b"] * 2

    calibration = calibrate_confidence(probabilities, gold, ["a", "b"], target_precision=0.9)

    kept = scale(probabilities, calibration.temperature).max(axis=1) >= calibration.threshold
    assert kept.tolist() == [True] * 6 + [False] * 2
    assert calibration.validation_kept_accuracy == 1.0 and calibration.validation_kept_share == 0.75
    assert calibration.validation_nll_after <= calibration.validation_nll_before


def test_the_built_model_is_calibrated_and_reports_whole_and_title_only_held_out_figures(
    topic_models: Path,
) -> None:
    folder = ModelStore(topic_models).folder("topic-news")
    info = read_info(folder)

    assert info.kind == "topic"
    assert {"test_accuracy", "test_macro_f1", "test_titles_accuracy", "test_titles_macro_f1"} <= set(
        info.metrics
    )
    assert {"test_confident_share", "test_titles_confident_accuracy"} <= set(info.metrics)
    confidence = info.data["confidence"]
    assert confidence["temperature"] > 0 and 0 < confidence["threshold"] <= 1
    assert confidence["validation_kept_accuracy"] >= confidence["target_precision"]
    classifier = TextClassifier.load(folder, "cpu")
    assert classifier.labels == TOPICS
    assert classifier.min_confidence == confidence["threshold"]
    [prediction] = classifier.classify(["Chelsea beat Arsenal in the cup final"])
    assert prediction.confidence == max(prediction.scores.values())
    card = (folder / "README.md").read_text()
    for expected in (
        "Confidence threshold",
        "bbc-news-titles",
        "title",
        "queuebot evaluate topic-news bbc-news",
    ):
        assert expected in card


def test_evaluate_prints_the_held_out_title_only_figures_the_card_holds(
    topic_models: Path, monkeypatch
) -> None:
    folder = ModelStore(topic_models).folder("topic-news")
    info = read_info(folder)

    result = CliRunner().invoke(app, ["evaluate", str(folder), "bbc-news-titles"])

    assert result.exit_code == 0, result.output
    assert "held-out test split" in result.output
    printed = dict(re.findall(r"^(\w+): ([0-9.]+)$", result.output, flags=re.MULTILINE))
    assert float(printed["accuracy"]) == pytest.approx(info.metrics["test_titles_accuracy"], abs=1e-4)
    assert float(printed["macro_f1"]) == pytest.approx(info.metrics["test_titles_macro_f1"], abs=1e-4)
    assert float(printed["threshold_confident_share"]) == pytest.approx(
        info.metrics["test_titles_confident_share"], abs=1e-4
    )
    assert json.loads((folder / "queuebot.json").read_text())["data"]["dataset"] == "bbc-news"
