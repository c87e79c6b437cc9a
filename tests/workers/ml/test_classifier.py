import math
from pathlib import Path

import numpy as np
import pytest

from core.jobs import SENTIMENT_LABELS
from workers.ml.classifier import Prediction, TextClassifier
from workers.model_store import ModelStore


@pytest.fixture(scope="module")
def classifier(tiny_models_dir: Path) -> TextClassifier:
    model = TextClassifier.load(ModelStore(tiny_models_dir).folder("sentiment-general"), "cpu")
    model.warm_up()
    return model


def test_one_prediction_per_text_with_probabilities_over_the_three_labels(classifier: TextClassifier) -> None:
    texts = ["Shares soar after record profit", "Company misses estimates, stock plunges", "Meeting at 10am"]
    predictions = classifier.classify(texts)
    assert len(predictions) == len(texts)
    for prediction in predictions:
        assert isinstance(prediction, Prediction)
        assert tuple(prediction.scores) == SENTIMENT_LABELS
        assert math.isclose(sum(prediction.scores.values()), 1.0, abs_tol=1e-5)
        assert prediction.label == max(prediction.scores, key=prediction.scores.__getitem__)
        assert prediction.confidence == max(prediction.scores.values())


def test_sentiment_models_answer_exactly_negative_neutral_positive(classifier: TextClassifier) -> None:
    assert classifier.labels == SENTIMENT_LABELS


def test_text_longer_than_the_context_is_truncated_not_an_error(classifier: TextClassifier) -> None:
    (prediction,) = classifier.classify(["profits keep rising " * 2_000])
    assert prediction.label in SENTIMENT_LABELS


def test_no_texts_give_no_predictions(classifier: TextClassifier) -> None:
    assert classifier.classify([]) == []


def test_a_single_string_is_refused_rather_than_classified_letter_by_letter(
    classifier: TextClassifier,
) -> None:
    with pytest.raises(TypeError, match="single str"):
        classifier.classify("Stock up 5%")


def test_results_do_not_depend_on_batch_size_or_on_the_other_texts_in_the_batch(
    classifier: TextClassifier,
) -> None:
    texts = [
        "Stock up 5%",
        "Guidance cut again after a dreadful quarter for the group",
        "CEO to speak",
        "Bankrupt",
    ]
    together = TextClassifier.probabilities_of(
        classifier.model, classifier.tokenizer, texts, "cpu", batch_size=4
    )
    alone = np.concatenate(
        [TextClassifier.probabilities_of(classifier.model, classifier.tokenizer, [t], "cpu") for t in texts]
    )
    np.testing.assert_allclose(together, alone, atol=1e-4)


def test_info_records_name_version_data_and_held_out_metrics(classifier: TextClassifier) -> None:
    info = classifier.info
    assert (info.name, info.kind, info.profile) == ("sentiment-general", "sentiment", "tiny")
    assert info.version.startswith("tiny-")
    assert {"test_accuracy", "test_macro_f1"} <= set(info.metrics)
    assert info.data["dataset"] == "airline-tweets" and info.data["split"]["seed"] == 13


def test_loading_a_model_that_is_not_a_classifier_is_refused(tiny_models_dir: Path) -> None:
    with pytest.raises(ValueError, match="not a classifier"):
        TextClassifier.load(ModelStore(tiny_models_dir).folder("replies"), "cpu")


def test_loading_a_missing_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        TextClassifier.load(tmp_path / "nope", "cpu")
