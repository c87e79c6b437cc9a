import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.support.model_fixtures import DATA_DIR
from training.build import build_models
from training.classifier.labelled_data import OUT_OF_SCOPE
from workers.ml.classifier import TextClassifier
from workers.ml.info import read_info
from workers.ml.out_of_scope import DISTANCE_FILE, MahalanobisDistance
from workers.model_store import ModelStore


@pytest.fixture(scope="module")
def clinc_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models_dir = tmp_path_factory.mktemp("clinc-models")
    build_models(models_dir, DATA_DIR, "tiny", "cpu", names=["intent-clinc150"])
    return ModelStore(models_dir).folder("intent-clinc150")


def test_an_out_of_scope_model_stores_its_calibrated_rule_and_reports_oos_figures(clinc_folder: Path) -> None:
    info = read_info(clinc_folder)
    rule = info.data["out_of_scope"]
    assert rule["label"] == OUT_OF_SCOPE and 0.0 <= rule["threshold"] < 1.0
    assert {"test_accuracy", "test_macro_f1", "test_out_of_scope_recall", "test_in_scope_accuracy"} <= set(
        info.metrics
    )
    classifier = TextClassifier.load(clinc_folder, "cpu")
    assert OUT_OF_SCOPE in classifier.labels and len(classifier.labels) == 151


def test_the_out_of_scope_score_with_the_most_validation_recall_is_the_one_served(clinc_folder: Path) -> None:
    info = read_info(clinc_folder)
    tried = {row["score"]: row for row in info.data["out_of_scope_validation"]}
    rule = info.data["out_of_scope"]

    assert set(tried) == {"max_probability", "mahalanobis"}
    assert tried[rule["score"]]["out_of_scope_recall"] == max(
        row["out_of_scope_recall"] for row in tried.values()
    )
    assert tried[rule["score"]]["threshold"] == rule["threshold"]
    assert (clinc_folder / DISTANCE_FILE).is_file() == (rule["score"] == "mahalanobis")
    card = (clinc_folder / "README.md").read_text()
    assert f"| {rule['score']} (used) | {rule['threshold']} |" in card


def test_a_distance_rule_sends_queries_far_from_every_intent_out(clinc_folder: Path) -> None:
    loaded = TextClassifier.load(clinc_folder, "cpu")
    texts = ["what is my bank balance", "sing me a song about the moon"]
    _, features = TextClassifier.outputs_of(loaded.model, loaded.tokenizer, texts, "cpu", features=True)
    assert features is not None
    # one "intent" whose mean is the first query itself: it is inside, the other is not
    distance = MahalanobisDistance(means=features[:1], precision=np.eye(features.shape[1], dtype=np.float32))
    rule = {"label": OUT_OF_SCOPE, "threshold": 1e-3, "score": "mahalanobis"}
    info = dataclasses.replace(loaded.info, data={**loaded.info.data, "out_of_scope": rule})

    first, second = TextClassifier(loaded.model, loaded.tokenizer, info, "cpu", distance).classify(texts)

    assert first.label == max(first.scores, key=first.scores.get) != OUT_OF_SCOPE
    assert second.label == OUT_OF_SCOPE


def test_the_model_card_holds_data_split_hyper_parameters_time_report_and_confusion_matrix(
    clinc_folder: Path,
) -> None:
    card = (clinc_folder / "README.md").read_text()
    for expected in (
        "oos_val",  # the split
        "learning_rate",  # hyper-parameters
        "s on cpu",  # training time and device
        "precision    recall  f1-score   support",  # scikit-learn's report
        "![confusion matrix](confusion_matrix.png)",
        "Out-of-scope detection",
        "queuebot evaluate intent-clinc150 clinc150",
    ):
        assert expected in card
    assert (clinc_folder / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_reproduces_the_test_figures_in_the_model_card(clinc_folder: Path, tmp_path: Path) -> None:
    png = tmp_path / "confusion.png"
    result = CliRunner().invoke(app, ["evaluate", str(clinc_folder), "clinc150", "--confusion", str(png)])
    assert result.exit_code == 0, result.output
    info = read_info(clinc_folder)
    for metric in ("accuracy", "macro_f1", "out_of_scope_recall", "in_scope_accuracy"):
        printed = float(re.search(rf"^{metric}: ([0-9.]+)$", result.output, re.MULTILINE).group(1))
        assert printed == pytest.approx(info.metrics[f"test_{metric}"], abs=1e-4)
    assert png.is_file()


def test_evaluate_takes_any_labelled_file(clinc_folder: Path, tmp_path: Path) -> None:
    data = tmp_path / "queries.jsonl"
    rows = [
        {"query": "what is my bank balance", "intent": "balance"},
        {"query": "sing me a song", "intent": OUT_OF_SCOPE},
    ]
    data.write_text("\n".join(json.dumps(row) for row in rows))
    result = CliRunner().invoke(
        app, ["evaluate", str(clinc_folder), str(data), "--text-column", "query", "--label-column", "intent"]
    )
    assert result.exit_code == 0, result.output
    accuracy = float(re.search(r"^accuracy: ([0-9.]+)$", result.output, re.MULTILINE).group(1))
    assert accuracy in (0.0, 0.5, 1.0)  # two rows: each is right or wrong


def test_evaluate_refuses_labels_the_model_does_not_know(clinc_folder: Path, tmp_path: Path) -> None:
    data = tmp_path / "queries.csv"
    data.write_text("text,label\nhello there,greeting_in_klingon\n")
    result = CliRunner().invoke(app, ["evaluate", str(clinc_folder), str(data)])
    assert result.exit_code != 0
    assert "greeting_in_klingon" in str(result.exception)


def test_a_low_confidence_prediction_becomes_out_of_scope(clinc_folder: Path) -> None:
    loaded = TextClassifier.load(clinc_folder, "cpu")

    def with_threshold(threshold: float) -> TextClassifier:
        data = {**loaded.info.data, "out_of_scope": {"label": OUT_OF_SCOPE, "threshold": threshold}}
        return TextClassifier(
            loaded.model, loaded.tokenizer, dataclasses.replace(loaded.info, data=data), "cpu"
        )

    texts = ["what's the weather like tomorrow", "book a table for two"]
    assert {p.label for p in with_threshold(1.01).classify(texts)} == {OUT_OF_SCOPE}
    unthresholded = with_threshold(0.0).classify(texts)
    assert [p.label for p in unthresholded] == [max(p.scores, key=p.scores.get) for p in unthresholded]
